print("kafka-codegen: not built yet")
