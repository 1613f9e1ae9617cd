"""gliner2-udf: GLiNER2 information extraction as a distributed big-data job.

Extras: ``lite`` runs exported lite folders (ONNX Runtime and numpy, no torch); ``torch`` loads upstream
checkpoints, runs them in torch and exports lite folders; ``spark`` and ``mlflow`` add the job and the
registry; ``train`` the trainer; ``dev`` the tests. ``pip install -e ".[lite,spark,mlflow]"`` runs the Spark
job on a lite folder without torch; ``all`` is what ``make setup`` installs.
"""

from setuptools import find_packages, setup

CORE = ["numpy>=1.24,<3", "pyyaml>=6,<7"]  # the schema compiler, the configuration, the row builder
LITE = ["onnxruntime==1.31.1", "tokenizers>=0.22,<1", "threadpoolctl>=3,<4"]
TORCH = [
    "torch==2.13.0",
    "transformers>=5.0,<6",
    "tokenizers>=0.22,<1",
    "safetensors>=0.4,<1",
    "onnxruntime==1.31.1",
    "onnx==1.23.2",
    "onnxscript==0.7.2",
]  # onnx*: exporting lite folders
SPARK = ["pyspark==4.2.0", "delta-spark==4.4.1", "pandas>=2.0,<3", "pyarrow>=15,<26"]
MLFLOW = [
    "mlflow-skinny==3.17.2",
    "sqlalchemy>=2,<3",
    "alembic>=1.12,<2",
    "matplotlib>=3.8,<4",
]  # matplotlib: notebooks/03
TRAIN = TORCH + ["faker>=30", "tqdm>=4.64,<5"]
DEV = ["pytest>=8,<10", "hypothesis>=6,<7", "gliner2[local]==2.1.0", "ruff==0.17.6"]

setup(
    name="gliner2-udf",
    version="0.1.0",
    description="GLiNER2 entity, classification and structure extraction over Spark, Parquet and Delta tables",
    packages=find_packages(include=["gliner2_udf", "gliner2_udf.*"]),
    package_data={"gliner2_udf.training": ["data/*.yaml"]},  # the training-data vocabulary tables
    python_requires=">=3.10",
    install_requires=CORE,
    extras_require={
        "lite": LITE,
        "torch": TORCH,
        "spark": SPARK,
        "mlflow": MLFLOW,
        "train": TRAIN,
        "dev": DEV,
        "all": sorted(set(LITE + TORCH + SPARK + MLFLOW + TRAIN + DEV)),
    },
)
