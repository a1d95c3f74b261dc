// One `sublab register --amend --reason` usually covers several predictions, and its reason can be
// a paragraph: printed beside each prediction it would fill every row with the same text. Reports
// and `register --status` show it once, as a numbered note the amended predictions point to.

export interface AmendmentNote {
  /** 1, 2, … in order of first appearance. */
  number: number;
  /** Source lines of the predictions it covers, ascending, each once. */
  lines: number[];
  /** The reason as recorded in the lock. */
  reason: string;
}

/**
 * The notes of `items` (predictions or report rows, in display order): one per distinct reason
 * text, whichever amendment entries carry it. Items without a reason are not amended.
 */
export function amendmentNotes(items: readonly { line: number; amendReason?: string }[]): AmendmentNote[] {
  const byReason = new Map<string, AmendmentNote>();
  for (const it of items) {
    if (!it.amendReason) continue;
    let note = byReason.get(it.amendReason);
    if (!note) {
      note = { number: byReason.size + 1, lines: [], reason: it.amendReason };
      byReason.set(it.amendReason, note);
    }
    if (!note.lines.includes(it.line)) note.lines.push(it.line);
  }
  const notes = [...byReason.values()];
  for (const n of notes) n.lines.sort((a, b) => a - b);
  return notes;
}

/** The number of the note holding `reason`; 0 when there is none. */
export function noteNumber(notes: readonly AmendmentNote[], reason: string | undefined): number {
  return (reason && notes.find((n) => n.reason === reason)?.number) || 0;
}

/** "line 41" or "lines 41, 43, 45". */
export function linesText(lines: readonly number[]): string {
  return `line${lines.length === 1 ? '' : 's'} ${lines.join(', ')}`;
}
