print("pipe-bench: not built yet")
