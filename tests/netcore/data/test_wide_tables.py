"""A table with 10^5 columns loads and predicts.

Every per-column step is linear: name look-ups use dicts and sets, dtypes are
tested once per distinct dtype, a numeric table is gathered in one pass. The
test asserts no time; before, the column check alone took minutes here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import netcore

N_COLUMNS = 100_000


def test_a_csv_of_100000_columns_and_3_rows_loads_and_predicts(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3, N_COLUMNS)).round(3)
    names = [f"c{i}" for i in range(N_COLUMNS)]
    path = tmp_path / "wide.csv"
    np.savetxt(path, np.column_stack([values, [0.5, 1.5, 4.0]]), delimiter=",", fmt="%.3f",
               header=",".join([*names, "y"]), comments="")
    data = netcore.Dataset.from_csv(path, target="y", val=1 / 3, test=1 / 3)
    assert data.n_features == N_COLUMNS and data.preprocessing.feature_names[-1] == names[-1]
    model = netcore.MLP([N_COLUMNS, 2, 1], loss="mse", seed=0)
    model.preprocessing = data.preprocessing
    rows = pd.DataFrame(values, columns=names).assign(y=1.0)  # the names leave y out
    predicted = model.predict(rows)
    assert predicted.shape == (3,) and np.isfinite(predicted).all()
    reordered = rows.iloc[:, ::-1]
    np.testing.assert_array_equal(model.predict(reordered), predicted)
    np.testing.assert_array_equal(model.predict(values), predicted)
