"""Group sequential designs: spending functions, boundaries, power, interim plans."""
