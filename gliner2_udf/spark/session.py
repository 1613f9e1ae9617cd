"""A SparkSession with Delta Lake: local on a laptop, the platform's own on Databricks or spark-submit.

Example::

    spark = get_session(master="local[2]")          # Delta jars via spark.jars.packages, loopback only

Where the Delta jars come from, in order:

* ``GLINER2_UDF_DELTA_JARS``: a folder of jars (``mvn dependency:copy-dependencies``), passed as ``spark.jars``;
* otherwise ``spark.jars.packages`` = ``GLINER2_UDF_DELTA_PACKAGES`` or :data:`DELTA_PACKAGE`, resolved by
  Ivy from ``~/.m2/repository`` first, then Maven Central.

On Databricks (``DATABRICKS_RUNTIME_VERSION`` set) and under ``spark-submit`` (the JVM already runs) no
package is set: Delta ships with the runtime, or comes from ``spark-submit --packages``.

A plain ``spark-submit jobs/extract.py ...`` without Delta on its classpath (no ``SPARK_CONF_DIR=conf/spark``,
no ``--packages``) is started once more by ``relaunch_with_delta``: the same command with every property the
first one had, plus the Delta package and SQL settings where it set none, so a cluster's own configuration
keeps winning.

A local master (``local``, ``local[N]``, ``local[*]``; also one given to ``spark-submit --master``) becomes
``local[N,4]``: Spark gives a task on a local master a single attempt unless the master names more, so one
killed Python worker would fail the whole job. ``local[N,F]`` is kept as written.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

# delta-spark 4.4.1 on PyPI (the Python wrapper) goes with pyspark 4.2.0, but Maven Central serves the
# Scala artifact io.delta:delta-spark_4.2_2.13 only as 4.4.0 (4.4.1 answers 404, checked 2026-11-26).
# The wrapper only calls public Scala APIs that did not change between the two patch releases.
DELTA_PACKAGE = "io.delta:delta-spark_4.2_2.13:4.4.0"
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
# Transitive dependencies of the Delta/Unity Catalog jars that Spark 4.2 already ships in newer versions:
# resolving them again would only add older duplicates to the classpath (and needs them in the Maven cache).
DELTA_EXCLUDES = ",".join(
    [
        "org.apache.hadoop:hadoop-client-api",
        "org.apache.hadoop:hadoop-client-runtime",
        "org.apache.parquet:*",
        "org.apache.logging.log4j:*",
        "org.slf4j:*",
        "com.fasterxml.jackson.core:*",
        "com.fasterxml.jackson.datatype:jackson-datatype-jsr310",
        "org.xerial.snappy:*",
        "com.github.luben:*",
        "io.airlift:*",
        "commons-pool:*",
        "commons-logging:*",
        "org.roaringbitmap:*",
        "org.locationtech.jts:*",
        "javax.annotation:*",
    ]
)
LOCAL_TASK_ATTEMPTS = 4  # what spark.task.maxFailures gives a task on a cluster
LOOPBACK_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def under_spark_submit() -> bool:
    """True under spark-submit or the pyspark shell: the JVM was started before Python, with its packages."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def with_local_retries(master: str) -> str:
    """``local``, ``local[N]``, ``local[*]`` -> ``local[N,LOCAL_TASK_ATTEMPTS]``; any other master unchanged."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)\])?", master.strip())
    return f"local[{m.group(1) or 1},{LOCAL_TASK_ATTEMPTS}]" if m else master


def task_attempts(spark: SparkSession) -> int:
    """How often Spark runs a task before it fails the job: ``F`` of ``local[N,F]``, 1 on other local masters,
    ``spark.task.maxFailures`` elsewhere."""
    master = spark.sparkContext.master
    m = re.fullmatch(r"local\[[^,\]]+,(\d+)\]", master)
    if m:
        return int(m.group(1))
    if re.fullmatch(r"local(\[[^\]]*\])?", master):
        return 1
    return int(spark.sparkContext.getConf().get("spark.task.maxFailures", "4"))


RELAUNCHED_ENV = "GLINER2_UDF_DELTA_RELAUNCHED"  # set on the relaunched spark-submit: never relaunch twice


def needs_delta_relaunch() -> bool:
    """True under a spark-submit (not Databricks) whose JVM cannot load Delta and that was not relaunched yet."""
    if on_databricks() or not under_spark_submit() or os.environ.get(RELAUNCHED_ENV):
        return False
    from pyspark import SparkContext

    SparkContext._ensure_initialized()
    return not _delta_loadable(SparkContext._jvm)


def relaunch_with_delta(argv: list[str]) -> None:
    """Replace this process by ``spark-submit`` with the properties this one was started with (its master, its
    cluster's settings) and, where they set none, the Delta package and SQL settings; ``argv`` is the script
    and its arguments. Never returns."""
    from pyspark import SparkConf

    conf = dict(SparkConf().getAll())
    packages = [p for p in conf.get("spark.jars.packages", "").split(",") if p]
    if not any(p.startswith("io.delta:delta-spark") for p in packages):
        conf["spark.jars.packages"] = ",".join([*packages, DELTA_PACKAGE])
        conf.setdefault("spark.jars.excludes", DELTA_EXCLUDES)
    extensions = [e for e in conf.get("spark.sql.extensions", "").split(",") if e]
    if DELTA_CONF["spark.sql.extensions"] not in extensions:
        conf["spark.sql.extensions"] = ",".join([*extensions, DELTA_CONF["spark.sql.extensions"]])
    conf.setdefault("spark.sql.catalog.spark_catalog", DELTA_CONF["spark.sql.catalog.spark_catalog"])
    conf.pop("spark.app.submitTime", None)
    submit = os.path.join(os.environ["SPARK_HOME"], "bin", "spark-submit")
    command = [submit, *(a for k, v in sorted(conf.items()) for a in ("--conf", f"{k}={v}")), *argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY_")}
    env[RELAUNCHED_ENV] = "1"
    print(
        f"note: Delta Lake is not on this spark-submit's classpath; starting it again with {DELTA_PACKAGE}",
        file=sys.stderr,
    )
    sys.stderr.flush()
    os.execve(submit, command, env)


def _submitted_master() -> str | None:
    """The master ``spark-submit`` started this driver with."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM, which holds its --master
    return SparkConf().get("spark.master", None)


def delta_conf() -> dict[str, str]:
    """Spark properties that put Delta on the classpath and into the SQL session."""
    conf = dict(DELTA_CONF)
    jars_dir = os.environ.get("GLINER2_UDF_DELTA_JARS")
    if jars_dir:
        jars = sorted(glob.glob(os.path.join(jars_dir, "*.jar")))
        if not jars:
            raise FileNotFoundError(f"GLINER2_UDF_DELTA_JARS={jars_dir!r} holds no .jar files")
        conf["spark.jars"] = ",".join(jars)
    else:
        conf["spark.jars.packages"] = os.environ.get("GLINER2_UDF_DELTA_PACKAGES", DELTA_PACKAGE)
        conf["spark.jars.excludes"] = DELTA_EXCLUDES
    return conf


def get_session(
    app_name: str = "gliner2-extract", master: str | None = None, conf: Mapping[str, str] | None = None
) -> SparkSession:
    """The active session if there is one; otherwise a new one with Delta configured.

    ``master`` and ``conf`` apply only when this call starts Spark. Local sessions bind to 127.0.0.1
    (``SPARK_LOCAL_IP`` is set if unset) and run Python workers with this interpreter.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    if on_databricks():
        return builder.getOrCreate()
    settings: dict[str, str] = dict(DELTA_CONF)
    if under_spark_submit():
        submitted = _submitted_master()
        if submitted and with_local_retries(submitted) != submitted:
            settings["spark.master"] = with_local_retries(submitted)
    else:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update(delta_conf())
        settings.update(LOOPBACK_CONF)
        settings.setdefault("spark.ui.enabled", "false")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers use this interpreter (and venv)
        builder = builder.master(with_local_retries(master or "local[*]"))
    settings.update(conf or {})
    for k, v in settings.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    _check_delta(spark)
    return spark


def _delta_loadable(jvm) -> bool:
    try:
        jvm.java.lang.Class.forName(
            "io.delta.sql.DeltaSparkSessionExtension", True, jvm.Thread.currentThread().getContextClassLoader()
        )
        return True
    except Exception:  # py4j error: class not on the classpath
        return False


def _check_delta(spark: SparkSession) -> None:
    if not _delta_loadable(spark._jvm):
        raise RuntimeError(
            "Delta Lake classes are not on Spark's classpath. Run spark-submit with SPARK_CONF_DIR=conf/spark "
            f"(its spark-defaults.conf adds Delta) or pass --packages {DELTA_PACKAGE} and the Delta "
            "spark.sql.extensions / spark.sql.catalog.spark_catalog settings."
        )
