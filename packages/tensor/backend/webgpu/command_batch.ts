/**
 * Command batching for the WebGPU backend: dispatches and copies go into one
 * open command encoder and are submitted together.
 *
 * Why: a `queue.submit` per dispatch costs more than most kernels of a small
 * model (see the bench's "a submit per dispatch" row). So dispatches go into
 * one open compute pass (closed only around the buffer-to-texture copies some
 * kernels record) and are submitted at the backend's `flush`, before a read or
 * an upload that needs it, and every `flushEvery` dispatches. This part also
 * keeps the hazards that batching creates: a pooled buffer reused while a
 * pending dispatch still reads it, and cached buffers evicted while a pending
 * dispatch still binds them.
 *
 * @module
 */
import type { TextureCopy } from "./context.ts";
import type { DeviceErrors } from "./device_errors.ts";

/** Counts of the work a backend has issued, from `WebGpuBackend.counters`. */
export interface GpuCounters {
  /** Compute dispatches recorded. */
  dispatches: number;
  /** Command buffers submitted. */
  submits: number;
  /**
   * Milliseconds spent inside `queue.submit` (and finishing the encoder).
   * Where the driver runs work on submit (software adapters), this is
   * mostly GPU time, not encoding.
   */
  submitMs: number;
}

/** The open command encoder of one device, its compute pass and its counters. */
export class CommandBatch {
  #device: GPUDevice;
  #errors: DeviceErrors;
  #flushEvery: number;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  /** Dispatches and copies recorded since the last submit. */
  #pending = 0;
  #dispatches = 0;
  #submits = 0;
  #submitMs = 0;
  /** The ops recorded since the last submit: a submit's errors name them. */
  #batchOps = new Set<string>();
  /** Pooled buffers released while recorded work may still read them. */
  #releasedInBatch = new Set<GPUBuffer>();
  /** Buffers to destroy after the next submit. */
  #retired: GPUBuffer[] = [];

  /** Batches for `device`, submitting every `flushEvery` recorded commands. */
  constructor(device: GPUDevice, errors: DeviceErrors, flushEvery: number) {
    this.#device = device;
    this.#errors = errors;
    this.#flushEvery = flushEvery;
  }

  /** Records one dispatch of `pipeline` with `group` at binding group 0. */
  dispatch(
    pipeline: GPUComputePipeline,
    group: GPUBindGroup,
    x: number,
    y: number,
    z: number,
    label: string,
  ): void {
    if (!this.#pass) {
      this.#encoder ??= this.#device.createCommandEncoder({ label: "batch" });
      this.#pass = this.#encoder.beginComputePass({ label: "batch" });
    }
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, group);
    this.#pass.dispatchWorkgroups(x, y, z);
    this.#dispatches++;
    this.#batchOps.add(label);
    if (++this.#pending >= this.#flushEvery) this.submit();
  }

  /** Records a buffer-to-texture copy for op `op`, in order with the dispatches. */
  copyToTexture(src: GPUBuffer, dst: GPUTexture, layout: TextureCopy, op: string): void {
    // Copies happen outside compute passes: close the open one (the next
    // dispatch opens another).
    this.#endPass();
    this.#encoder ??= this.#device.createCommandEncoder({ label: "batch" });
    this.#encoder.copyBufferToTexture(
      { buffer: src, offset: layout.offset, bytesPerRow: layout.bytesPerRow },
      { texture: dst },
      [layout.width, layout.height],
    );
    this.#batchOps.add(op);
    if (++this.#pending >= this.#flushEvery) this.submit();
  }

  /** Records a copy of `bytes` bytes of `src` into `dst` (a read's staging buffer). */
  copyToBuffer(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    this.#endPass();
    this.#encoder ??= this.#device.createCommandEncoder({ label: "batch" });
    this.#encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  /** Notes that `buffer` went back to the pool while work may still read it. */
  released(buffer: GPUBuffer): void {
    if (this.#pending > 0) this.#releasedInBatch.add(buffer);
  }

  /**
   * Submits first if pending work still reads `buffer`, which is about to be
   * written by `queue.writeBuffer`.
   */
  beforeWrite(buffer: GPUBuffer): void {
    // queue.writeBuffer runs before commands not yet submitted: if a pending
    // dispatch still reads this (released) buffer, submit that work first.
    if (this.#pending > 0 && this.#releasedInBatch.has(buffer)) this.submit();
  }

  /** Destroys `buffer` after the next submit (pending dispatches may still bind it). */
  retire(buffer: GPUBuffer): void {
    this.#retired.push(buffer);
  }

  /** Submits everything recorded, watching the submit's validation errors. */
  submit(): void {
    this.#endPass();
    const encoder = this.#encoder;
    this.#encoder = undefined;
    const ops = [...this.#batchOps];
    this.#batchOps.clear();
    this.#pending = 0;
    this.#releasedInBatch.clear();
    if (encoder) {
      const start = performance.now();
      this.#device.pushErrorScope("validation");
      this.#device.queue.submit([encoder.finish({ label: "batch" })]);
      this.#errors.watch(this.#device.popErrorScope(), undefined, ops);
      this.#submitMs += performance.now() - start;
      this.#submits++;
    }
    for (const b of this.#retired) b.destroy();
    this.#retired.length = 0;
  }

  /** Drops what is recorded without submitting it (the device is being destroyed). */
  discard(): void {
    this.#encoder = undefined;
    this.#pass = undefined;
  }

  /** Work issued so far. */
  counters(): GpuCounters {
    return { dispatches: this.#dispatches, submits: this.#submits, submitMs: this.#submitMs };
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }
}
