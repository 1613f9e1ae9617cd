"""gliner2-udf: GLiNER2 information extraction as a distributed big-data job."""
from setuptools import find_packages, setup

CORE = [
    "torch==2.13.0",
    "transformers>=5.0,<6",
    "tokenizers>=0.22,<1",
    "safetensors>=0.4,<1",
    "numpy>=1.24,<3",
    "pyyaml>=6,<7",
]
SPARK = ["pyspark==4.2.0", "delta-spark==4.4.1", "pandas>=2.0,<3", "pyarrow>=15,<26"]
MLFLOW = ["mlflow-skinny==3.17.2", "sqlalchemy>=2,<3", "alembic>=1.12,<2", "matplotlib>=3.8,<4"]  # matplotlib: notebooks/03
ONNX = ["onnxruntime==1.31.1", "onnx==1.23.2", "onnxscript==0.7.2", "threadpoolctl>=3,<4"]
TRAIN = ["faker>=30", "tqdm>=4.64,<5"]
DEV = ["pytest>=8,<10", "hypothesis>=6,<7", "gliner2[local]==2.1.0"]

setup(
    name="gliner2-udf",
    version="0.1.0",
    description="GLiNER2 entity, classification and structure extraction over Spark, Parquet and Delta tables",
    packages=find_packages(include=["gliner2_udf", "gliner2_udf.*"]),
    python_requires=">=3.10",
    install_requires=CORE,
    extras_require={
        "spark": SPARK,
        "mlflow": MLFLOW,
        "train": TRAIN,
        "onnx": ONNX,
        "dev": DEV,
        "all": SPARK + MLFLOW + TRAIN + ONNX + DEV,
    },
)
