// Prompt construction for token_probe: chat template with the assistant turn left open, system
// prompts that templates may not support, a fixed date, and exactly one BOS token.
import { TokenProbeError } from './errors.ts';

// Irregular plurals (and invariant ones) that a suffix rule would get wrong.
const IRREGULAR: Record<string, string> = {
  wolves: 'wolf', calves: 'calf', halves: 'half', elves: 'elf', leaves: 'leaf', loaves: 'loaf', thieves: 'thief',
  knives: 'knife', wives: 'wife', lives: 'life', shelves: 'shelf', selves: 'self', scarves: 'scarf', hooves: 'hoof',
  mice: 'mouse', lice: 'louse', geese: 'goose', feet: 'foot', teeth: 'tooth', oxen: 'ox', children: 'child',
  people: 'person', men: 'man', women: 'woman', dice: 'die',
  octopi: 'octopus', octopuses: 'octopus', cacti: 'cactus', fungi: 'fungus', platypuses: 'platypus', hippopotami: 'hippopotamus',
  hippopotamuses: 'hippopotamus', walruses: 'walrus', buses: 'bus', larvae: 'larva', antennae: 'antenna',
  sheep: 'sheep', deer: 'deer', fish: 'fish', moose: 'moose', bison: 'bison', salmon: 'salmon', trout: 'trout',
  squid: 'squid', shrimp: 'shrimp', swine: 'swine', series: 'series', species: 'species', aircraft: 'aircraft',
  buffaloes: 'buffalo', mosquitoes: 'mosquito', tomatoes: 'tomato', potatoes: 'potato', heroes: 'hero', echoes: 'echo',
  flamingoes: 'flamingo', dingoes: 'dingo', horses: 'horse', houses: 'house', mooses: 'moose', tortoises: 'tortoise',
  porpoises: 'porpoise', doves: 'dove', cheetahs: 'cheetah', ravens: 'raven',
};

/** Plural → singular, with irregular forms (wolves → wolf, mice → mouse, geese → goose). */
export function singularize(word: string): string {
  const w = word.trim();
  const lower = w.toLowerCase();
  const keep = (s: string): string => (w[0] === w[0]!.toUpperCase() && w[0] !== w[0]!.toLowerCase() ? s[0]!.toUpperCase() + s.slice(1) : s);
  if (IRREGULAR[lower] !== undefined) return keep(IRREGULAR[lower]!);
  if (/[^aeiou]ies$/.test(lower)) return keep(lower.slice(0, -3) + 'y'); // butterflies, ponies
  if (/(ches|shes|sses|xes|zzes)$/.test(lower)) return keep(lower.slice(0, -2)); // finches, foxes
  if (/(ss|us|is)$/.test(lower)) return keep(lower); // already singular: octopus, ibis
  if (lower.endsWith('s') && lower.length > 2) return keep(lower.slice(0, -1));
  return keep(lower);
}

/** `{animal}` / `{number}` placeholders in a prompt template. */
export function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (vars[name] !== undefined ? vars[name]! : m));
}

export interface PromptSpec {
  system?: string;
  user: string;
  /** Assistant prefill, left open (the next token continues it). */
  prefill: string;
}

export interface PromptOptions {
  format: 'chat' | 'plain';
  /** auto: use the template's system role if it has one, else prepend to the user turn. */
  systemRole: 'auto' | 'native' | 'prepend';
  date: string;
  modelName: string;
}

/** The minimal tokenizer surface used here (transformers.js PreTrainedTokenizer). */
export interface TokenizerLike {
  apply_chat_template(conversation: { role: string; content: string }[], options?: Record<string, unknown>): unknown;
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: Record<string, unknown>): string;
  chat_template?: unknown;
  bos_token?: string | null;
  bos_token_id?: number | null;
}

export function hasChatTemplate(tok: TokenizerLike): boolean {
  const t = tok.chat_template;
  return typeof t === 'string' ? t.length > 0 : t != null && typeof t === 'object' && Object.keys(t).length > 0;
}

/**
 * Renders the conversation with the final assistant message left open. transformers.js passes
 * `continue_final_message` to the template but does not cut the string itself (Python's
 * transformers does), so the cut after the prefill's last occurrence is done here, as Python does.
 */
export function renderChat(tok: TokenizerLike, p: PromptSpec, o: PromptOptions): string {
  if (o.format === 'plain') {
    const sys = p.system ? p.system + '\n\n' : '';
    return `${sys}User: ${p.user}\nAssistant: ${p.prefill}`;
  }
  if (!hasChatTemplate(tok)) {
    throw new TokenProbeError(
      `model "${o.modelName}" has no chat template (tokenizer_config.json has no "chat_template" and there is no chat_template.jinja). ` +
        `Use an instruct model's folder, add a chat template, or set prompt_format = "plain" (a plain "User:/Assistant:" text prompt, e.g. for base models).`,
    );
  }
  const render = (msgs: { role: string; content: string }[]): string =>
    tok.apply_chat_template(msgs, {
      tokenize: false,
      add_generation_prompt: false,
      continue_final_message: true,
      date_string: o.date,
    }) as string;
  const tail = [
    { role: 'assistant', content: p.prefill },
  ];
  let text: string | undefined;
  if (p.system && o.systemRole !== 'prepend') {
    try {
      text = render([{ role: 'system', content: p.system }, { role: 'user', content: p.user }, ...tail]);
      // Templates that silently drop the system message do not support it either.
      if (!text.includes(p.system.trim())) text = undefined;
    } catch (e) {
      if (o.systemRole === 'native') throw new TokenProbeError(`model "${o.modelName}": its chat template rejects a system message (${(e as Error).message}); set system_role = "prepend"`);
      text = undefined;
    }
    if (text === undefined && o.systemRole === 'native') {
      throw new TokenProbeError(`model "${o.modelName}": its chat template drops the system message; set system_role = "prepend"`);
    }
  }
  if (text === undefined) {
    const user = p.system ? `${p.system}\n\n${p.user}` : p.user;
    text = render([{ role: 'user', content: user }, ...tail]);
  }
  const final = p.prefill;
  const at = text.lastIndexOf(final.trim());
  if (final.trim() === '' || at < 0) {
    throw new TokenProbeError(`model "${o.modelName}": the assistant prefill "${final}" does not appear in the rendered chat template`);
  }
  const keep = text.slice(at, at + final.trimStart().length) === final.trimStart() ? final.trimStart().length : final.trim().length;
  return text.slice(0, at + keep);
}

/** Token ids of a rendered prompt with exactly one leading BOS (none added twice). */
export function encodePrompt(tok: TokenizerLike, text: string, bos: { token?: string | null; id?: number | null }): number[] {
  const templatedBos = !!bos.token && text.startsWith(bos.token);
  // A template that already writes BOS must not get a second one from the tokenizer.
  const ids = tok.encode(text, { add_special_tokens: !templatedBos });
  if (bos.id != null && ids.length > 1 && ids[0] === bos.id && ids[1] === bos.id) return ids.slice(1);
  return ids;
}
