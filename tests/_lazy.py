"""A lazily read array for tests of streamed prediction."""


class RecordingArray:
    """A lazily read array that records the size of every read."""

    def __init__(self, array):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self.largest_read = 0

    def __getitem__(self, key):
        part = self.array[key]
        self.largest_read = max(self.largest_read, part.size)
        return part
