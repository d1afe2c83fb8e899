/**
 * Normalization constants (SPEC's table, as torchvision's transforms) and class
 * labels of the datasets the trainer knows, written into the metadata so a
 * served model preprocesses and labels images by itself.
 *
 * @module
 */

/** Per-channel mean and standard deviation of a dataset's Normalize. */
export interface Normalization {
  /** Per-channel mean. */
  mean: readonly number[];
  /** Per-channel standard deviation. */
  std: readonly number[];
}

const NORMALIZATION: Record<string, Normalization> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  "fashion-mnist": { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  cifar100: { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

const CIFAR100 = (
  "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus " +
  "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch " +
  "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo " +
  "keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse " +
  "mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy " +
  "porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper " +
  "snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television " +
  "tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split(" ");

const LABELS: Record<string, readonly string[]> = {
  mnist: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  "fashion-mnist": [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  ],
  cifar10: [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
  ],
  cifar100: CIFAR100,
};

/**
 * The Normalize constants of a known dataset.
 *
 * @param dataset mnist, fashion-mnist, cifar10, cifar100 or imagenet
 * @returns its mean/std, or undefined for an unknown name
 */
export function normalization(dataset: string): Normalization | undefined {
  return NORMALIZATION[dataset];
}

/**
 * The class labels of a known dataset (ImageNet's folder names are not known
 * here, so it has none).
 *
 * @param dataset a dataset name
 * @returns the labels in class-index order, or undefined
 */
export function classLabels(dataset: string): readonly string[] | undefined {
  return LABELS[dataset];
}
