print("kafka-pipe: not built yet")
