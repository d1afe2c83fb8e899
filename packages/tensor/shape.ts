/**
 * Shapes and dtypes: the shape arithmetic of `dims.ts` and the output-shape
 * rule of every primitive op ({@link SHAPE_RULES}, assembled in `op_name.ts`
 * from the op families), in one import.
 *
 * @module
 */
export * from "./dims.ts";
export { SHAPE_RULES, type ShapeRule } from "./op_name.ts";
