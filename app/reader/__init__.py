"""The way of a question: parse it, retrieve passages, weigh their sentences and spans, answer."""

from pathlib import Path

# The reader's trained models (train/train_reader.py writes it; app/reader/linear.py loads it).
WEIGHTS_FILE = Path(__file__).with_name("reader_weights.json")
