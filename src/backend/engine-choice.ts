// Which training engine a run uses (runners with both an ONNX Runtime and a TensorFlow.js engine:
// mlp_distill, superposition): the `backend` parameter, else env SUBLAB_BACKEND, else ONNX Runtime.

/** The `backend` parameter's TensorFlow.js names → the backend names src/backend/index.ts knows. */
export const TFJS_BACKENDS: Readonly<Record<string, string>> = { 'tfjs': 'auto', 'tfjs-node-gpu': 'tensorflow-gpu', 'tfjs-node': 'tensorflow', 'tfjs-wasm': 'wasm', 'tfjs-cpu': 'cpu' };
/** SUBLAB_BACKEND may use the TensorFlow.js names the other runners take. */
const ENV_ALIAS: Record<string, string> = { 'tensorflow-gpu': 'tfjs-node-gpu', tensorflow: 'tfjs-node', wasm: 'tfjs-wasm', cpu: 'tfjs-cpu' };

/** The values of a runner's `backend` parameter (schema enum). */
export const ENGINE_VALUES = ['auto', 'onnxruntime', ...Object.keys(TFJS_BACKENDS)] as const;

/** The engine a run uses: the parameter, else SUBLAB_BACKEND, else ONNX Runtime. */
export function resolveEngine(param: unknown, env = process.env.SUBLAB_BACKEND): string {
  const p = String(param ?? 'auto');
  if (p !== 'auto') return ENV_ALIAS[p] ?? p;
  if (!env || env === 'auto') return 'onnxruntime';
  const e = ENV_ALIAS[env] ?? env;
  if (e !== 'onnxruntime' && !(e in TFJS_BACKENDS)) throw new Error(`SUBLAB_BACKEND=${env}: the training engines are onnxruntime, ${Object.keys(TFJS_BACKENDS).join(', ')} (or ${Object.keys(ENV_ALIAS).join(', ')})`);
  return e;
}

/** The packages a TensorFlow.js engine loads (optional peer dependencies; 'tfjs' needs one backend, cpu at least). */
export function tfjsPackages(engine: string): string[] {
  const backend: Record<string, string> = { 'tfjs': 'cpu', 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm', 'tfjs-node': 'node', 'tfjs-node-gpu': 'node-gpu' };
  const b = backend[engine] ?? 'cpu';
  return ['@tensorflow/tfjs-core', b.startsWith('node') ? `@tensorflow/tfjs-${b}` : `@tensorflow/tfjs-backend-${b}`];
}
