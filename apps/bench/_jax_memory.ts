/**
 * Imported before `@jax-js/jax`: it keeps a handle on the WebAssembly.Memory
 * that jax-js's WASM backend constructs while the library loads (jax-js has
 * no memory statistics), so the bench can watch that memory for growth.
 *
 * @module
 */
const Memory = WebAssembly.Memory;
let captured: WebAssembly.Memory | undefined;

WebAssembly.Memory = new Proxy(Memory, {
  construct(target, args: [WebAssembly.MemoryDescriptor]) {
    const memory = new target(...args);
    captured ??= memory;
    return memory;
  },
});

/** Puts the original constructor back and returns the memory caught since this module loaded. */
export function releaseMemoryHook(): WebAssembly.Memory | undefined {
  WebAssembly.Memory = Memory;
  return captured;
}
