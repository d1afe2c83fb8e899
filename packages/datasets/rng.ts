/**
 * The data pipeline's seeded randomness: {@link Random} (mulberry32) and
 * {@link seedFrom}, from the project's one family of random streams in
 * `@agd/tensor/random`, so that the same seed always gives the same batches.
 *
 * @module
 */
export { Random, RandomStream, seedFrom } from "@agd/tensor/random";
