"""Labelled results as netCDF files: the same bytes for the same Dataset.

Datasets are written as netCDF3 (64-bit offsets) by scipy's engine, so no HDF5 library is
needed and nothing in the file depends on the clock: :func:`xarray.open_dataset` reads them with
scipy alone. netCDF3 has no 64-bit integers and no Unicode type: integer coordinates are stored
as 32-bit, text as UTF-8 characters, both read back by xarray as written.
"""

from __future__ import annotations

import xarray as xr

__all__ = ["netcdf_bytes"]


def netcdf_bytes(dataset: xr.Dataset) -> bytes:
    """`dataset` as the bytes of a netCDF3 file (scipy's engine).

    Examples
    --------
    >>> import io
    >>> ds = xr.Dataset({"p": ("point", [0.25, 0.5])}, coords={"point": [0, 1]})
    >>> data = netcdf_bytes(ds)
    >>> data[:3], float(xr.open_dataset(io.BytesIO(data), engine="scipy")["p"][1])
    (b'CDF', 0.5)
    """
    return bytes(dataset.to_netcdf(engine="scipy", format="NETCDF3_64BIT"))
