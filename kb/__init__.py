"""G7 migrant-smuggling knowledge base: index, retrieval, cited answers, commitments, evaluation."""

import os

# Offline by design: nothing may reach a model hub, and no telemetry leaves the machine.
# Set here, before chromadb, huggingface_hub or gradio are imported anywhere in the process.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
