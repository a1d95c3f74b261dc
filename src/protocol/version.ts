// The version of the command runner's protocol (docs/protocol.md): the runner tells the program
// (SUBLAB_PROTOCOL_VERSION) and the helpers carry it (python/sublab/__init__.py says the same number).
export const PROTOCOL_VERSION = 1;
