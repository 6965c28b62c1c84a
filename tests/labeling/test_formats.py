"""003's time strings and the formatter's canonical shape."""

import pytest

from labeling.errors import JsonError
from labeling.formatter import formatter_clean
from labeling.timefmt import format_time, parse_time


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("Sat Jun 30 15:04:20 GMT+08:00 2018", "2018-06-30T07:04:20Z"),
        ("Thu Jun 14 15:04:20 GMT-05:30 2018", "2018-06-14T20:34:20Z"),
        ("Thu Jun 14 15:04:20 UTC 2018", "2018-06-14T15:04:20Z"),
        ("2017-01-23T12:34:56.123456789Z", "2017-01-23T12:34:56.123456Z"),
        ("2017-01-23T12:34:56Z", "2017-01-23T12:34:56Z"),
        ("2018-05-10T08:00:00+08:00", "2018-05-10T00:00:00Z"),
        ("2018-05-10", "2018-05-10T00:00:00Z"),
    ],
)
def test_it_reads_003s_time_forms(text, instant):
    assert format_time(parse_time(text)) == instant


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "Sat Jun 30 15:04:20 CST 2018",
        "2018-13-01",
        "0001-01-01T00:00:00+14:00",  # before the first UTC instant Python has
        "Fri Dec 31 23:59:59 GMT-05:00 9999",
    ],
)
def test_it_refuses_other_time_forms(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_it_stores_attribute_values_as_strings():
    cleaned = formatter_clean({"tags": [{"name": " box ", "attributes": [{"name": "n", "values": [1, 2.5, True]}]}]})
    assert cleaned == {
        "tags": [
            {"name": "box", "description": "", "attributes": [{"name": "n", "description": "", "values": ["1", "2.5", "True"]}]}
        ]
    }


@pytest.mark.parametrize(
    "formatter",
    [[], {"tags": "x"}, {"tags": [{"name": "a"}, {"name": "a"}]}, {"tags": [{"name": "a", "attributes": {}}]}, "{bad"],
)
def test_it_refuses_malformed_formatters(formatter):
    with pytest.raises(JsonError):
        formatter_clean(formatter)
