"""A LightGBM model as a plain object skops can store without pickle: LightGBM's own text model and the columns.

The distributed engine (`train.engine: dask_lightgbm`) trains a LightGBM booster; this wrapper keeps the same
preprocessing contract as the scikit-learn pipelines: it takes a DataFrame with the schema's features, numbers as
floats and categories as text, and returns `predict_proba` like any classifier. Its state is strings and lists only
(the model is `Booster.model_to_string()`, categories included), so `load_model` can trust the type. LightGBM is
imported on the first prediction, so loading the file needs no LightGBM; predicting does.
The state holds no version stamp (`_sklearn_version`), so the same model is always the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, ClassifierMixin

if TYPE_CHECKING:
    import numpy as np

INIT_ARGS = ("model_text", "numeric", "categorical", "categories")


class LightGBMModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no types
    """A fitted LightGBM binary classifier from its text model; `numeric` and `categorical` name its input columns.

    A scikit-learn classifier in interface only (permutation importance and scorers take it): it is fitted by the
    engine, never by `fit`.
    """

    def __init__(
        self, model_text: str, numeric: list[str], categorical: list[str], categories: dict[str, list[Any]]
    ) -> None:
        self.model_text = model_text
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.categories = {name: list(values) for name, values in categories.items()}

    def fit(self, X: Any, y: Any = None) -> LightGBMModel:
        raise NotImplementedError("a LightGBMModel is trained by train.engine dask_lightgbm, not refitted")

    @property
    def classes_(self) -> np.ndarray:
        import numpy as np

        return np.array([0, 1])

    @property
    def feature_names_in_(self) -> np.ndarray:
        import numpy as np

        return np.array([*self.numeric, *self.categorical], dtype=object)

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name in INIT_ARGS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def _booster(self) -> Any:
        booster = self.__dict__.get("_cached_booster")
        if booster is None:
            import lightgbm

            booster = lightgbm.Booster(model_str=self.model_text)
            self.__dict__["_cached_booster"] = booster
        return booster

    def frame(self, X: Any) -> Any:
        """The input as LightGBM reads it: numbers as float64, categories as in training (any other: missing)."""
        import pandas as pd

        columns = {name: pd.to_numeric(pd.Series(X[name]), errors="coerce").astype("float64") for name in self.numeric}
        for name in self.categorical:
            values = pd.Series(X[name]).astype(object)
            values = values.where(values.isna(), values.astype(str))
            known = self.categories[name]
            columns[name] = pd.Categorical(values.where(values.isin(known)), categories=known)  # unknown: missing
        return pd.DataFrame(columns, index=getattr(X, "index", None))

    def predict_proba(self, X: Any) -> np.ndarray:
        import numpy as np

        positive = np.asarray(self._booster().predict(self.frame(X)), dtype=np.float64)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
