// The heavy engines (ONNX Runtime, TensorFlow.js, transformers.js, the MNIST data) are optional peer
// dependencies, so a user of the `command` runner installs none of them. Code that needs one says
// which packages are missing and the command that installs them, before loading anything.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Whether `name` can be imported from sublab's own location (the user's node_modules). */
function installed(name: string): boolean {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch (e) {
    // A package whose `exports` hide package.json is there all the same.
    return (e as NodeJS.ErrnoException).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
  }
}

export function missingPackages(names: readonly string[]): string[] {
  return names.filter((n) => !installed(n));
}

const andList = (xs: readonly string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);

/** Throws "<who> needs a and b, which are not installed: npm install a b" when any is missing. */
export function needPackages(who: string, names: readonly string[]): void {
  const missing = missingPackages(names);
  if (missing.length === 0) return;
  throw new Error(`${who} needs ${andList(missing)}, which ${missing.length === 1 ? 'is' : 'are'} not installed: npm install ${missing.join(' ')}`);
}
