"""Offline RL data: OGBench datasets, loaded through the official loader or generated offline.

* :mod:`floq_lite.data.ogbench_io`: dataset directory, file validation, atomic writes, :func:`load`.
* :mod:`floq_lite.data.navigate`: the OGBench ``navigate`` procedure (BFS oracle + noisy expert) for the mazes.

Importing this package does not import ogbench or MuJoCo; they load on first use (``pip install floq-lite[ogbench]``).
"""

from floq_lite.data.navigate import (
    NAVIGATE_DATASETS,
    BFSOracle,
    Expert,
    MazeGrid,
    NavigateDataset,
    cell_coverage,
    generate_navigate,
)
from floq_lite.data.ogbench_io import (
    DEFAULT_DATASET_DIR,
    DatasetCorruptError,
    DatasetError,
    DatasetMissingError,
    UnknownEnvError,
    dataset_paths,
    load,
    resolve_dataset_dir,
    validate_file,
    write_dataset,
)

__all__ = [
    "DEFAULT_DATASET_DIR",
    "NAVIGATE_DATASETS",
    "BFSOracle",
    "DatasetCorruptError",
    "DatasetError",
    "DatasetMissingError",
    "Expert",
    "MazeGrid",
    "NavigateDataset",
    "UnknownEnvError",
    "cell_coverage",
    "dataset_paths",
    "generate_navigate",
    "load",
    "resolve_dataset_dir",
    "validate_file",
    "write_dataset",
]
