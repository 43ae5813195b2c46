"""Vectorised aggregation engine behind :func:`amtools.kpi.compute`: period/group coding and pooled statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.periods import parse_period, period_freq, period_label
from amtools.core.problems import DataValidationError, Problem
from amtools.core.settings.kpi import KpiSettings
from amtools.core.vocab import LEVELS, NO_TEAM
from amtools.kpi.reasons import split_reason

__all__ = ["Context", "Result", "as_datetime", "assemble", "codes_in", "month_index"]

_MONTHS_PER = {"M": 1, "Q": 3, "Y": 12}
_NAT = np.iinfo(np.int64).min


@dataclass
class Result:
    """Per-cell arrays (length groups x periods) for one KPI."""

    value: np.ndarray
    n: np.ndarray  # float with NaN for "no sample size"
    low: np.ndarray
    high: np.ndarray
    reason: np.ndarray  # object: a reason code (amtools.kpi.reasons.reason_code) or None
    inferred: bool = False  # computed with an inferred rule (churn from inactivity)


def as_datetime(df: pd.DataFrame, table: str, column: str) -> np.ndarray:
    """Column as a naive datetime64 numpy array (NaT for empty), coercing text dates."""
    s = df[column]
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, errors="raise")
        except (ValueError, TypeError) as exc:
            raise DataValidationError(
                [
                    Problem(
                        table,
                        column,
                        "bad_date",
                        f"cannot read dates: {exc}",
                        int(s.notna().sum()),
                        fix=f"load the data with amtools.load or give {table}.{column} ISO dates",
                    )
                ]
            ) from None
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
    return s.to_numpy().astype("datetime64[ns]", copy=False)


def codes_in(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Positions of ``values`` in ``index`` (-1 where absent or empty), via factorisation."""
    codes, uniques = pd.factorize(values)
    if len(uniques) == 0:
        return np.full(len(values), -1, dtype=np.int32)
    pos = index.get_indexer(pd.Index(uniques).astype(index.dtype)).astype(np.int32)
    # code -1 (empty) picks the appended -1: one gather instead of a where
    return np.append(pos, -1)[codes]


def _min_max_months(values: np.ndarray) -> np.ndarray | None:
    """[first, last] month index of the non-missing dates, or None."""
    ns = values.view(np.int64)
    present = ns != _NAT
    if not present.any():
        return None
    lo = ns.min(where=present, initial=np.iinfo(np.int64).max)  # no copy of the column
    hi = ns.max()
    return month_index(np.array([lo, hi], dtype="datetime64[ns]"))


def month_index(values: np.ndarray) -> np.ndarray:
    """Months since 1970-01 as int64 (``_NAT`` where the date is missing).

    Truncating to the month keeps any time of day inside its own day, so a timestamp
    late on a period's last day belongs to that period.
    """
    return values.astype("datetime64[M]").astype(np.int64)


class Context:
    """Everything the KPI functions share: codes of managers, groups and periods."""

    def __init__(
        self,
        ds: Dataset,
        freq: str,
        periods: Any,
        fiscal_year_start: int,
        level: str,
        settings: KpiSettings,
    ) -> None:
        if level not in LEVELS:
            raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
        try:
            self.pfreq = period_freq(freq, fiscal_year_start)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        for name in ("managers", "deals"):
            if name not in ds:
                raise DataValidationError(
                    [
                        Problem(
                            name,
                            None,
                            "missing_table",
                            f"required table {name} is absent",
                            0,
                            fix=f"load a source with a {name} table",
                        )
                    ]
                )
        self.ds = ds
        self.freq = freq
        self.fys = fiscal_year_start
        self.k = _MONTHS_PER[freq]
        self.level = level
        self.settings = settings
        self._mgr_cache: dict[tuple[str, str, int], np.ndarray] = {}
        self.cache: dict[str, Any] = {}

        managers = ds["managers"]
        self.mgr_index = pd.Index(managers["manager_id"].astype("string"))
        if self.mgr_index.has_duplicates:
            dup = self.mgr_index[self.mgr_index.duplicated()].unique()[:5]
            raise DataValidationError(
                [
                    Problem(
                        "managers",
                        "manager_id",
                        "duplicate_key",
                        "duplicate manager ids",
                        int(self.mgr_index.duplicated().sum()),
                        tuple(map(str, dup)),
                        fix="keep one row per manager",
                    )
                ]
            )
        self.n_mgr = len(self.mgr_index)
        seg = managers["segment"].astype("string").fillna("").to_numpy(dtype=object)
        self.mgr_segment = seg
        self.set_level(level)

        self._build_periods(periods)

    def set_level(self, level: str) -> None:
        """Group managers for ``level``; codes and caches of the tables stay valid."""
        if level not in LEVELS:
            raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
        managers = self.ds["managers"]
        if level == "manager":
            names = np.asarray(self.mgr_index.to_numpy(dtype=object))
            grp = np.arange(self.n_mgr, dtype=np.int64)
        else:
            if level == "team":
                col = managers["team"] if "team" in managers else pd.Series([pd.NA] * self.n_mgr)
                labels = pd.Series(col).astype("string").fillna(NO_TEAM).to_numpy(dtype=object)
            elif level == "segment":
                labels = self.mgr_segment
            else:
                labels = np.array(["all"] * self.n_mgr, dtype=object)
            codes, uniques = pd.factorize(pd.Series(labels, dtype=object), sort=True)
            grp = codes.astype(np.int64)
            names = np.asarray(uniques, dtype=object)
        self.level = level
        self.grp = grp
        self.group_names = names
        self.n_grp = len(names)

    # -- periods -----------------------------------------------------------------
    def code_of_months(self, months: np.ndarray) -> np.ndarray:
        """Absolute period codes from month indexes (months since 1970-01)."""
        return np.floor_divide(months - (self.fys - 1), self.k)

    def period_of_code(self, code: int) -> pd.Period:
        m0 = code * self.k + (self.fys - 1)
        ts = pd.Timestamp(year=1970 + m0 // 12, month=m0 % 12 + 1, day=1)
        return pd.Period(ts, freq=self.pfreq)

    def _event_months(self) -> list[np.ndarray]:
        """Month ranges of the dated events that define the reporting window.

        Dates that describe history rather than activity in the window (deal creation,
        proposal sending for old deals, contacts back-filled at acquisition) are left out,
        so a 2023 deal created in 2022 does not open an empty 2022 period.
        """
        spans = {
            "deals": ("closed_date",),
            "activities": ("date",),
            "requests": ("opened_at",),
            "surveys": ("date",),
            "projects": ("actual_end",),
            "internal_reports": ("due_date",),
            "compliance": ("date",),
            "product_ideas": ("date",),
            "trainings": ("date",),
        }
        out = []
        for table, cols in spans.items():
            df = self.ds.get(table)
            if df is None or len(df) == 0:
                continue
            for c in cols:
                if c in df:
                    m = _min_max_months(self.dates(table, c))
                    if m is not None:
                        out.append(m)
        if not out and "created_date" in self.ds["deals"]:
            m = _min_max_months(self.dates("deals", "created_date"))
            if m is not None:
                out.append(m)
        return out

    def _build_periods(self, periods: Any) -> None:
        spans = self._event_months()
        end_meta = self.ds.meta.get("period_end")
        wanted: list[int] = []
        if periods is not None:
            if isinstance(periods, (str, pd.Period)):
                periods = [periods]
            for p in periods:
                try:
                    per = parse_period(p, self.fys) if isinstance(p, str) else p
                except ValueError as exc:
                    raise ParameterError(str(exc)) from None
                if (
                    not isinstance(per, pd.Period)
                    or per.freqstr != pd.Period("2000-01", self.pfreq).freqstr
                ):
                    raise ParameterError(
                        f"period {p!r} does not match freq={self.freq!r} with fiscal_year_start="
                        f"{self.fys} (expected frequency {self.pfreq})"
                    )
                m = per.start_time.year * 12 + per.start_time.month - 1 - 1970 * 12
                wanted.append(int(self.code_of_months(np.array([m]))[0]))
        if spans:
            allm = np.concatenate(spans)
            cmin = int(self.code_of_months(allm.min(keepdims=True))[0])
            cmax = int(self.code_of_months(allm.max(keepdims=True))[0])
            if end_meta is not None and not pd.isna(end_meta):
                ts = pd.Timestamp(end_meta)
                cend = int(
                    self.code_of_months(np.array([ts.year * 12 + ts.month - 1 - 1970 * 12]))[0]
                )
                cmax = min(cmax, cend)
                cmin = min(cmin, cmax)
        elif wanted:
            cmin = cmax = wanted[0]
        else:
            raise DataValidationError(
                [
                    Problem(
                        "deals",
                        None,
                        "no_dates",
                        "no dated events: cannot derive the periods",
                        0,
                        fix="give deals.closed_date/created_date, or pass periods=[...]",
                    )
                ]
            )
        if wanted:
            cmin, cmax = min(cmin, *wanted), max(cmax, *wanted)
        self.c0 = cmin
        self.n_per = cmax - cmin + 1
        self.out_periods = (
            np.array(sorted(set(w - cmin for w in wanted)), dtype=np.int64)
            if wanted
            else np.arange(self.n_per, dtype=np.int64)
        )
        self.labels = [period_label(self.period_of_code(cmin + i)) for i in range(self.n_per)]
        starts = [
            self.period_of_code(cmin + i).start_time.normalize() for i in range(self.n_per + 1)
        ]
        self.start = np.array(starts, dtype="datetime64[ns]")  # start[i+1] = exclusive end of i

    def dates(self, table: str, column: str) -> np.ndarray:
        """``table.column`` as datetime64 (cached: several KPIs read the same dates)."""
        key = f"dates:{table}.{column}"
        if key not in self.cache:
            self.cache[key] = as_datetime(self.ds[table], table, column)
        return self.cache[key]

    def periods_of(self, table: str, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Relative period codes of ``table.column`` and the in-range mask (cached)."""
        key = f"periods:{table}.{column}"
        if key not in self.cache:
            self.cache[key] = self.rel_codes(self.dates(table, column))
        per, ok = self.cache[key]
        return per, ok.copy()

    def rel_codes(self, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Relative period codes of dates and the mask of dates inside the period range.

        A binary search over the period starts: any time of day stays inside its own day,
        so a timestamp late on a period's last day belongs to that period. Dates before the
        range get -1, after it ``n_per``; missing dates -1.
        """
        ns = np.asarray(dates).astype("datetime64[ns]", copy=False).view(np.int64)
        missing = ns == _NAT
        # int32 codes: half the memory of the default intp on millions of rows
        code = np.searchsorted(self.start.view(np.int64), ns, side="right").astype(np.int32)
        code -= 1
        code[missing] = -1
        ok = (code >= 0) & (code < self.n_per)
        return code, ok

    # -- managers and groups ---------------------------------------------------------
    def mgr_codes(self, df: pd.DataFrame, table: str, column: str = "manager_id") -> np.ndarray:
        """Positions of ``df[column]`` in the managers table; unknown ids are an error.

        Factorising first keeps this fast on millions of rows: only the distinct ids are
        looked up in the managers index.
        """
        key = (table, column, id(df))
        cached = self._mgr_cache.get(key)
        if cached is not None:
            return cached
        codes = codes_in(self.mgr_index, df[column])
        bad = codes < 0
        if bad.any():
            vals = df[column][bad].astype("string")
            ex = tuple(vals.dropna().unique()[:5].tolist())
            msg = (
                f"{int(bad.sum())} row(s) with an empty {column}"
                if vals.isna().all()
                else f"{column} values not in managers.manager_id"
            )
            raise DataValidationError(
                [
                    Problem(
                        table,
                        column,
                        "unknown_reference",
                        msg,
                        int(bad.sum()),
                        ex,
                        fix="add the managers to the managers table or fix the ids "
                        "(amtools.validate.checks.validate lists them all)",
                    )
                ]
            )
        self._mgr_cache[key] = codes
        return codes

    @property
    def size(self) -> int:
        return self.n_grp * self.n_per

    def keys(self, mgr: np.ndarray, per: np.ndarray) -> np.ndarray:
        """Cell index (group x period) of rows with manager codes ``mgr`` and periods ``per``."""
        return self.grp[mgr] * self.n_per + per

    def total(self, keys: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Sum (or count, without weights) per group x period cell."""
        if weights is None:
            return np.bincount(keys, minlength=self.size).astype(np.float64)
        return np.bincount(keys, weights=weights, minlength=self.size)

    def median(self, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Median of pooled values per cell (NaN where none).

        Whole-number values with a modest range (days of a sales cycle) use a counting
        median: one bincount over cell x value and a binary search, linear in the rows.
        Other values fall back to a pandas groupby median.
        """
        out = np.full(self.size, np.nan)
        if not len(keys):
            return out
        lo, hi = float(values.min()), float(values.max())
        width = hi - lo + 1
        if width * self.size <= 5e7 and bool(np.all(values == np.floor(values))):
            w = int(width)
            offs = (values - lo).astype(np.int64)
            counts = np.bincount(keys * w + offs, minlength=self.size * w)
            cum = np.cumsum(counts)
            n = counts.reshape(self.size, w).sum(axis=1)
            has = np.flatnonzero(n > 0)
            base = np.where(has > 0, cum[np.maximum(has * w - 1, 0)], 0)
            lower = np.searchsorted(cum, base + (n[has] - 1) // 2, side="right") - has * w
            upper = np.searchsorted(cum, base + n[has] // 2, side="right") - has * w
            out[has] = lo + (lower + upper) / 2
            return out
        med = pd.Series(values).groupby(keys).median()
        out[med.index.to_numpy()] = med.to_numpy()
        return out

    def distinct(self, keys: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
        """Number of distinct ``items`` (dense codes 0..n_items-1) per cell.

        Items are mostly seen by one group per period (a client served by one manager), so
        the min and max group of each item x period pair are recorded with ``ufunc.at``;
        pairs seen by several groups (rare) are counted exactly with ``np.unique``.
        """
        counts = np.zeros(self.size)
        if not len(keys):
            return counts
        n_per = self.n_per
        if n_items * n_per > 5e7:  # a very long period range: exact sort-based count
            uniq = np.unique(keys * n_items + items)
            return np.bincount(uniq // n_items, minlength=self.size).astype(np.float64)
        per = keys % n_per
        grp = keys // n_per
        pair = items * n_per + per
        big = np.iinfo(np.int64).max
        gmin = np.full(n_items * n_per, big, dtype=np.int64)
        gmax = np.full(n_items * n_per, -1, dtype=np.int64)
        np.minimum.at(gmin, pair, grp)
        np.maximum.at(gmax, pair, grp)
        seen = np.flatnonzero(gmin != big)
        single = seen[gmin[seen] == gmax[seen]]
        counts += np.bincount(gmin[single] * n_per + single % n_per, minlength=self.size)
        multi = np.zeros(n_items * n_per, dtype=bool)
        multi[seen[gmin[seen] != gmax[seen]]] = True
        if multi.any():
            m = multi[pair]
            uniq = np.unique(keys[m] * n_items + items[m])
            counts += np.bincount(uniq // n_items, minlength=self.size)
        return counts

    def group_has(self, mgr_mask: np.ndarray) -> np.ndarray:
        """Per cell: the group has at least one manager in ``mgr_mask``."""
        has = np.bincount(self.grp[mgr_mask], minlength=self.n_grp) > 0
        return np.repeat(has, self.n_per)

    # -- results ---------------------------------------------------------------------
    def empty(self, reason: str | None = None) -> Result:
        nan = np.full(self.size, np.nan)
        return Result(
            nan, nan.copy(), nan.copy(), nan.copy(), np.full(self.size, reason, dtype=object)
        )

    def count_result(self, count: np.ndarray, n: np.ndarray | None = None) -> Result:
        r = self.empty()
        r.value = count.astype(np.float64)
        r.n = (count if n is None else n).astype(np.float64)
        return r

    def ratio_result(
        self,
        num: np.ndarray,
        den: np.ndarray,
        undefined: str,
        *,
        wilson: bool = False,
        n: np.ndarray | None = None,
    ) -> Result:
        r = self.empty()
        ok = den > 0
        r.value[ok] = num[ok] / den[ok]
        r.n = (den if n is None else n).astype(np.float64)
        r.reason[~ok] = undefined
        if wilson and ok.any():
            alpha = 1 - self.settings.confidence
            lo, hi = proportion_confint(
                np.round(num[ok]).astype(np.int64),
                den[ok].astype(np.int64),
                alpha=alpha,
                method="wilson",
            )
            r.low[ok], r.high[ok] = lo, hi
        return r

    def mean_result(
        self,
        keys: np.ndarray,
        x: np.ndarray,
        undefined: str,
        *,
        t_interval: bool = False,
        scale: float = 1.0,
        shift: float = 0.0,
        bounds: tuple[float, float] = (-np.inf, np.inf),
    ) -> Result:
        """Mean of ``x`` per cell, reported as ``(mean + shift) * scale``, with a t interval.

        The interval is clipped to ``bounds`` (the reported scale's possible range).
        """
        n = self.total(keys)
        s = self.total(keys, x)
        r = self.empty()
        ok = n > 0
        mean = np.full(self.size, np.nan)
        mean[ok] = s[ok] / n[ok]
        r.value = (mean + shift) * scale
        r.n = n
        r.reason[~ok] = undefined
        if t_interval:
            dev = x - mean[keys]
            ss = self.total(keys, dev * dev)
            two = n >= 2
            sd = np.sqrt(ss[two] / (n[two] - 1))
            half = (
                stats.t.ppf(0.5 + self.settings.confidence / 2, n[two] - 1) * sd / np.sqrt(n[two])
            )
            r.low[two] = np.clip((mean[two] - half + shift) * scale, *bounds)
            r.high[two] = np.clip((mean[two] + half + shift) * scale, *bounds)
        return r


def assemble(ctx: Context, results: dict[str, Result], min_samples: dict[str, int]) -> pd.DataFrame:
    """Stack per-KPI arrays into the tidy frame of the contract."""
    kpis = list(results)
    n_k = len(kpis)
    shape = (ctx.n_grp, ctx.n_per, n_k)

    def stack(attr: str, dtype: Any) -> np.ndarray:
        arr = np.stack([getattr(results[k], attr) for k in kpis], axis=-1).reshape(shape)
        return arr[:, ctx.out_periods, :].reshape(-1).astype(dtype)

    value = stack("value", np.float64)
    n = stack("n", np.float64)
    low = stack("low", np.float64)
    high = stack("high", np.float64)
    reason = stack("reason", object)
    inferred = np.tile(
        np.array([bool(results[k].inferred) for k in kpis], dtype=bool),
        ctx.n_grp * len(ctx.out_periods),
    )
    n_out = len(ctx.out_periods)
    mins = np.tile(np.array([min_samples[k] for k in kpis], dtype=np.float64), ctx.n_grp * n_out)

    na = np.array([r is not None for r in reason], dtype=bool)
    status = np.where(
        na, "not_available", np.where(np.nan_to_num(n, nan=0.0) < mins, "insufficient_data", "ok")
    )
    value[na] = np.nan
    low[na] = np.nan
    high[na] = np.nan

    first = {"manager": "manager_id", "team": "team", "segment": "segment", "company": "company"}[
        ctx.level
    ]
    labels = np.array(ctx.labels, dtype=object)[ctx.out_periods]
    n_col = pd.array(np.where(np.isnan(n), 0, np.round(n)).astype(np.int64), dtype="Int64")
    n_col[np.isnan(n)] = pd.NA
    # split the cells' reason codes into key and JSON arguments (few distinct codes)
    codes, uniques = pd.factorize(pd.Series(reason, dtype=object), use_na_sentinel=True)
    split = [split_reason(str(u)) for u in uniques]
    key_u = np.array([k for k, _ in split] + [None], dtype=object)
    args_u = np.array([a for _, a in split] + [None], dtype=object)
    key = pd.Series(key_u[codes], dtype="string")
    args = pd.Series(args_u[codes], dtype="string")
    return pd.DataFrame(
        {
            first: pd.array(np.repeat(ctx.group_names, n_out * n_k), dtype="string"),
            "period": pd.array(np.tile(np.repeat(labels, n_k), ctx.n_grp), dtype="string"),
            "kpi": pd.array(
                np.tile(np.array(kpis, dtype=object), ctx.n_grp * n_out), dtype="string"
            ),
            "value": value,
            "n": n_col,
            "low": low,
            "high": high,
            "status": pd.array(status, dtype="string"),
            "reason": pd.array(key.to_numpy(), dtype="string"),
            "reason_args": pd.array(args.to_numpy(), dtype="string"),
            "inferred": pd.array(inferred & ~na, dtype="boolean"),
        }
    )
