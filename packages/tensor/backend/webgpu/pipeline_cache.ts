/**
 * The GPU objects a dispatch needs besides its storage buffers, created once
 * and reused: shader modules, compute pipelines, uniform buffers, texture
 * views and bind groups.
 *
 * Why: creating these costs more than recording the dispatch itself, and a
 * training step repeats the same dispatches every step. Shader modules are
 * cached by source, pipelines by (source, entry point, override constants),
 * uniform buffers by their bytes (created mapped and never rewritten; shapes
 * repeat every step, and an LRU cap bounds the cache), and bind groups by
 * (pipeline, buffers): the pool hands out the same buffers in the same order
 * every step, so a warm training loop creates no GPU objects at all.
 *
 * @module
 */
import type { Dispatch } from "./context.ts";
import type { CommandBatch } from "./command_batch.ts";
import type { DeviceErrors } from "./device_errors.ts";
import { BUFFER_USAGE } from "./gpu_flags.ts";

/** A cached compute pipeline with its bind group layout. */
export interface Pipeline {
  /** The compiled pipeline. */
  pipeline: GPUComputePipeline;
  /** Its bind group 0 layout (`layout: "auto"`). */
  layout: GPUBindGroupLayout;
  /** Names the pipeline in bind group cache keys. */
  id: number;
}

/** Whether a dispatch resource is a texture (only textures make views). */
function isTexture(resource: GPUBuffer | GPUTexture): resource is GPUTexture {
  return "createView" in resource;
}

/** Pipelines, uniform buffers and bind groups of one device, by what they are made of. */
export class PipelineCache {
  #device: GPUDevice;
  #errors: DeviceErrors;
  #batch: CommandBatch;
  #maxUniforms: number;
  #maxBindGroups: number;
  #modules = new Map<string, Map<string, Pipeline>>();
  #moduleObjects = new Map<string, GPUShaderModule>();
  #pipelineCount = 0;
  #uniforms = new Map<string, GPUBuffer>();
  #bindGroups = new Map<string, GPUBindGroup>();
  #views = new WeakMap<GPUTexture, GPUTextureView>();
  #ids = new WeakMap<GPUBuffer | GPUTexture, number>();
  #nextId = 0;

  /**
   * Caches for `device`, reporting creation errors to `errors`, retiring
   * evicted uniform buffers through `batch`, and keeping at most
   * `maxUniforms` uniform buffers and `maxBindGroups` bind groups (least
   * recently used go first).
   */
  constructor(
    device: GPUDevice,
    errors: DeviceErrors,
    batch: CommandBatch,
    maxUniforms: number,
    maxBindGroups: number,
  ) {
    this.#device = device;
    this.#errors = errors;
    this.#batch = batch;
    this.#maxUniforms = maxUniforms;
    this.#maxBindGroups = maxBindGroups;
  }

  /** Pipelines compiled so far. */
  get pipelineCount(): number {
    return this.#pipelineCount;
  }

  /** Uniform buffers in the cache now. */
  get uniformCount(): number {
    return this.#uniforms.size;
  }

  /** Bind groups in the cache now. */
  get bindGroupCount(): number {
    return this.#bindGroups.size;
  }

  /** Forgets the bind groups (they would keep destroyed buffers' objects alive). */
  clearBindGroups(): void {
    this.#bindGroups.clear();
  }

  /** The pipeline of `d`'s source, entry point and constants, compiled on first use. */
  pipeline(d: Dispatch): Pipeline {
    let pipelines = this.#modules.get(d.code);
    if (!pipelines) {
      pipelines = new Map();
      this.#modules.set(d.code, pipelines);
    }
    const entryPoint = d.entryPoint ?? "main";
    let key = entryPoint;
    if (d.constants) { for (const k in d.constants) key += `|${k}=${d.constants[k]}`; }
    let p = pipelines.get(key);
    if (p) return p;
    // Compile errors surface asynchronously; scope them so they name the op.
    this.#device.pushErrorScope("validation");
    this.#device.pushErrorScope("internal");
    let module = this.#moduleObjects.get(d.code);
    if (!module) {
      module = this.#device.createShaderModule({ label: d.label, code: d.code });
      this.#moduleObjects.set(d.code, module);
    }
    const pipeline = this.#device.createComputePipeline({
      label: d.label,
      layout: "auto",
      compute: { module, entryPoint, constants: d.constants },
    });
    p = { pipeline, layout: pipeline.getBindGroupLayout(0), id: ++this.#nextId };
    this.#errors.watch(this.#device.popErrorScope(), d.label);
    this.#errors.watch(this.#device.popErrorScope(), d.label);
    pipelines.set(key, p);
    this.#pipelineCount++;
    return p;
  }

  /** The bind group of `d`'s uniforms and buffers for pipeline `p`, cached. */
  bindGroup(d: Dispatch, p: Pipeline): GPUBindGroup {
    const uniform = d.uniforms ? this.#uniformBuffer(d.uniforms, d.label) : undefined;
    // Training steps repeat the same (pipeline, buffers) combinations, since
    // the pool hands buffers out in the same order every step: reuse their
    // bind groups instead of creating ~200 per step.
    let key = `${p.id}`;
    if (uniform) key += `,${this.#idOf(uniform)}`;
    for (const b of d.buffers) key += `,${this.#idOf(b)}`;
    if (d.bindings) key += `|${d.bindings.join(",")}`;
    let group = this.#bindGroups.get(key);
    if (group) {
      this.#bindGroups.delete(key);
    } else {
      // Scoped like the pipeline: an invalid layout or binding names the op,
      // and arrives with the other errors of the op instead of ahead of them
      // (Dawn fires uncaptured errors synchronously, inside the call).
      this.#device.pushErrorScope("validation");
      group = this.#createBindGroup(d, p.layout, uniform);
      this.#errors.watch(this.#device.popErrorScope(), d.label);
      if (this.#bindGroups.size >= this.#maxBindGroups) {
        this.#bindGroups.delete(this.#bindGroups.keys().next().value!);
      }
    }
    // Most recently used goes last (Map keeps insertion order).
    this.#bindGroups.set(key, group);
    return group;
  }

  #uniformBuffer(bytes: ArrayBuffer, label: string): GPUBuffer {
    const words = new Uint16Array(bytes);
    const key = String.fromCharCode.apply(null, words as unknown as number[]);
    let buffer = this.#uniforms.get(key);
    if (buffer) {
      // Most recently used goes last (Map keeps insertion order).
      this.#uniforms.delete(key);
      this.#uniforms.set(key, buffer);
      return buffer;
    }
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    buffer = this.#device.createBuffer({
      label: `${label}:uniforms`,
      size,
      usage: BUFFER_USAGE.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes));
    buffer.unmap();
    this.#uniforms.set(key, buffer);
    if (this.#uniforms.size > this.#maxUniforms) {
      const [oldKey, old] = this.#uniforms.entries().next().value!;
      this.#uniforms.delete(oldKey);
      // Pending dispatches may still bind it: destroy after the next submit.
      this.#batch.retire(old);
    }
    return buffer;
  }

  #createBindGroup(
    d: Dispatch,
    layout: GPUBindGroupLayout,
    uniform: GPUBuffer | undefined,
  ): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    if (uniform) entries.push({ binding: 0, resource: { buffer: uniform } });
    for (const [i, b] of d.buffers.entries()) {
      let resource: GPUBindingResource;
      // Not `instanceof GPUTexture`: Dawn's classes are not Deno's globals.
      if (isTexture(b)) {
        let view = this.#views.get(b);
        if (!view) {
          view = b.createView({ label: d.label });
          this.#views.set(b, view);
        }
        resource = view;
      } else {
        resource = { buffer: b };
      }
      entries.push({ binding: d.bindings?.[i] ?? entries.length, resource });
    }
    return this.#device.createBindGroup({ label: d.label, layout, entries });
  }

  /** A number naming a buffer or texture for cache keys (never reused). */
  #idOf(resource: GPUBuffer | GPUTexture): number {
    let id = this.#ids.get(resource);
    if (id === undefined) {
      id = ++this.#nextId;
      this.#ids.set(resource, id);
    }
    return id;
  }
}
