"""JSON in and out of the API with orjson: several times faster than the standard library,
and strict where the standard library is lax (NaN, Infinity and integers beyond 64 bits
are refused, and so are bytes that are not UTF-8), so such bodies become 400s."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Quart, Response
from quart.json.provider import DefaultJSONProvider, JSONProvider

# Keys that are not strings (the OpenAPI document's status codes) become strings, as the
# standard library's json makes them.
OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    def __init__(self, app: Quart, fallback: JSONProvider | None = None) -> None:
        super().__init__(app)
        # Types orjson does not know (a pydantic model, say) go to the previous provider's
        # `default`, as they would have.
        if isinstance(fallback, DefaultJSONProvider):
            self.default = fallback.default

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=OPTIONS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        # As Flask's `jsonify`: one positional value, or keyword values, or several values.
        if args and kwargs:
            raise TypeError("response() takes either positional or keyword values, not both")
        obj = args[0] if len(args) == 1 else (args or kwargs)
        body = orjson.dumps(obj, default=self.default, option=OPTIONS)
        return Response(body, mimetype=self.mimetype)
