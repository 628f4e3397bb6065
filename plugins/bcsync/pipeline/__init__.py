"""Task bodies at the I/O edge: extract, couple, transform, load and record, plus staging."""
