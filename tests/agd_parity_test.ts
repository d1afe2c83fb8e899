// AGD against PyTorch: starting from the fixtures' init weights, each step's
// forward output, loss, gradients, G, η and updated weights (and BatchNorm
// running statistics) match the reference to float32 tolerance.
import { Agd } from "@agd/agd";
import {
  BatchNorm2d,
  Conv2d,
  Fcn,
  type LayerContext,
  type LayerOps,
  Linear,
  MaxPool2d,
  Module,
} from "@agd/models";
import {
  type Backend,
  backward,
  crossEntropyLoss,
  keep,
  mseLoss,
  noGrad,
  Rng,
  tensor,
  tidy,
} from "@agd/tensor";
import { assertClose } from "../packages/tensor/testing/assert.ts";
import { TEST_DEVICES } from "../packages/tensor/testing/devices.ts";
import { type Fixture, loadFixture } from "../packages/tensor/testing/fixtures.ts";

/** The fixture's tiny residual net (see tests/fixtures/README.md). */
class TinyRes extends Module {
  readonly #conv1: Conv2d;
  readonly #bn1: BatchNorm2d;
  readonly #pool = new MaxPool2d({ kernel: 3, stride: 2, padding: 1 });
  readonly #conv2: Conv2d;
  readonly #bn2: BatchNorm2d;
  readonly #conv3: Conv2d;
  readonly #bn3: BatchNorm2d;
  readonly #down: Conv2d;
  readonly #bnd: BatchNorm2d;
  readonly #fc: Linear;

  constructor(ctx: LayerContext) {
    super();
    this.#conv1 = this.child("conv1", new Conv2d(3, 8, { kernel: 3, padding: 1, ...ctx }));
    this.#bn1 = this.child("bn1", new BatchNorm2d(8, ctx));
    this.#conv2 = this.child(
      "conv2",
      new Conv2d(8, 16, { kernel: 3, stride: 2, padding: 1, ...ctx }),
    );
    this.#bn2 = this.child("bn2", new BatchNorm2d(16, ctx));
    this.#conv3 = this.child("conv3", new Conv2d(16, 16, { kernel: 3, padding: 1, ...ctx }));
    this.#bn3 = this.child("bn3", new BatchNorm2d(16, ctx));
    this.#down = this.child("down", new Conv2d(8, 16, { kernel: 1, stride: 2, ...ctx }));
    this.#bnd = this.child("bnd", new BatchNorm2d(16, ctx));
    this.#fc = this.child("fc", new Linear(16, 4, ctx));
  }

  call<T>(ops: LayerOps<T>, x: T): T {
    const h = this.#pool.call(ops, ops.relu(this.#bn1.call(ops, this.#conv1.call(ops, x))));
    let main = ops.relu(this.#bn2.call(ops, this.#conv2.call(ops, h)));
    main = this.#bn3.call(ops, this.#conv3.call(ops, main));
    const short = this.#bnd.call(ops, this.#down.call(ops, h));
    return this.#fc.call(ops, ops.flatten(ops.globalAvgPool2d(ops.relu(ops.add(main, short)))));
  }
}

function loadInit(model: Module, fx: Fixture, backend: Backend): void {
  for (const p of model.parameters()) {
    p.value.dispose();
    p.value = keep(
      tensor(fx.f32(`init.${p.name}`), {
        shape: fx.shape(`init.${p.name}`),
        backend,
        requiresGrad: true,
      }),
    );
  }
}

async function checkSteps(
  fx: Fixture,
  model: Module,
  steps: number,
  loss: typeof mseLoss,
  backend: Backend,
): Promise<void> {
  const agd = new Agd();
  const params = model.parameters();
  for (let t = 0; t < steps; t++) {
    const x = tensor(fx.f32(`step${t}.x`), { shape: fx.shape(`step${t}.x`), backend });
    const y = tensor(fx.i32(`step${t}.y`), { backend });
    const [out, l] = tidy(() => {
      const out = model.forward(x);
      const l = loss(out, y);
      backward(l);
      return [out, l];
    });
    const tol = { atol: 1e-4, rtol: 1e-3 };
    assertClose(await out.data(), fx.f32(`step${t}.output`), { ...tol, label: `step${t}.output` });
    assertClose([await l.item()], fx.f32(`step${t}.loss`), { ...tol, label: `step${t}.loss` });
    for (const p of params) {
      assertClose(await p.value.grad!.data(), fx.f32(`step${t}.grad.${p.name}`), {
        atol: 1e-5,
        rtol: 1e-3,
        label: `step${t}.grad.${p.name}`,
      });
    }
    const { G, eta } = agd.summary(params);
    assertClose([await G.item()], fx.f32(`step${t}.G`), { ...tol, label: `step${t}.G` });
    assertClose([await eta.item()], fx.f32(`step${t}.eta`), { ...tol, label: `step${t}.eta` });
    const stepEta = agd.step(params);
    assertClose([await stepEta.item()], fx.f32(`step${t}.eta`), {
      ...tol,
      label: `step${t} step η`,
    });
    for (const p of params) {
      assertClose(await p.value.data(), fx.f32(`step${t}.after.${p.name}`), {
        atol: 1e-5,
        rtol: 1e-3,
        label: `step${t}.after.${p.name}`,
      });
    }
    for (const b of model.buffers()) {
      assertClose(await b.value.data(), fx.f32(`step${t}.after.${b.name}`), {
        ...tol,
        label: `step${t}.after.${b.name}`,
      });
    }
    for (const c of model.counters()) {
      assertClose([c.count], fx.i32(`step${t}.after.${c.name}`), { label: c.name });
    }
    [x, y, out, l, G, eta, stepEta].forEach((t) => t.dispose());
  }
}

for (const device of TEST_DEVICES) {
  Deno.test({
    name: `AGD on fcn (depth 4, width 32, mse) matches PyTorch for 3 steps (${device.name})`,
    ignore: device.ignore,
    fn: async () => {
      const backend = await device.backend();
      const fx = await loadFixture("fcn_agd.safetensors");
      const fcn = new Fcn({ depth: 4, width: 32, inputSize: 48, classes: 10 }, {
        rng: new Rng(0),
        backend,
      });
      loadInit(fcn, fx, backend);
      await checkSteps(fx, fcn, 3, mseLoss, backend);
      fcn.dispose();
    },
  });

  Deno.test({
    name:
      `AGD on a tiny residual conv net (xent, BatchNorm) matches PyTorch for 2 steps (${device.name})`,
    ignore: device.ignore,
    fn: async () => {
      const backend = await device.backend();
      const fx = await loadFixture("tinyres_agd.safetensors");
      const model = new TinyRes({ rng: new Rng(0), backend });
      loadInit(model, fx, backend);
      await checkSteps(fx, model, 2, crossEntropyLoss, backend);
      model.eval();
      const x = tensor(fx.f32("eval.x"), { shape: fx.shape("eval.x"), backend });
      const out = noGrad(() => model.forward(x));
      assertClose(await out.data(), fx.f32("eval.output"), {
        atol: 1e-4,
        rtol: 1e-3,
        label: "eval.output",
      });
      [x, out].forEach((t) => t.dispose());
      model.dispose();
    },
  });
}
