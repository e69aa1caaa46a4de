print("rewind-bench: not written yet")
