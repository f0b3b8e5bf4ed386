"""The models: the embedding encoders (MiniLM, multilingual-e5 in ONNX int8) and the optional LLM."""
