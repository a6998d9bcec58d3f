"""Files to records in bounded memory, with exact lines and offsets: `open_records` (opening.py)
finds the compression and format and hands the bytes to the reader of that format."""

from shared.readers.opening import ReaderError, ReadOptions, RecordStream, open_records

__all__ = ["ReadOptions", "ReaderError", "RecordStream", "open_records"]
