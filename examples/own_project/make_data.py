"""Writes the example's data from scikit-learn's bundled datasets (no download):
data/wine.csv (178 wines, 13 measurements, 3 cultivars) and data/digits/ (1,797 8x8 scans
of handwritten digits as PNG files in train/ and test/ class folders)."""

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits, load_wine

out = Path("data")
out.mkdir(exist_ok=True)
load_wine(as_frame=True).frame.to_csv(out / "wine.csv", index=False)
digits = load_digits()
for i, (image, label) in enumerate(zip(digits.images, digits.target)):
    folder = out / "digits" / ("test" if i % 5 == 0 else "train") / str(label)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray((image * 16).clip(0, 255).astype(np.uint8), "L").save(folder / f"{i}.png")
print("wrote data/wine.csv and data/digits/")
