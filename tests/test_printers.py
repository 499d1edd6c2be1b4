"""printers: kubectl's table look and apimachinery's HumanDuration, pinned by golden tests."""
import pytest

from kubectl_egress import printers

M, H, D, Y = 60, 3600, 86400, 365 * 86400


@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (4, "4s"), (90, "90s"), (119, "119s"),
    (120, "2m"), (121, "2m1s"), (125, "2m5s"), (9 * M + 59, "9m59s"), (10 * M, "10m"),
    (179 * M, "179m"), (3 * H, "3h"), (7 * H + 30 * M, "7h30m"), (7 * H + 59 * M, "7h59m"),
    (8 * H, "8h"), (21 * H, "21h"), (47 * H, "47h"), (3 * D + 4 * H, "3d4h"), (3 * D, "3d"),
    (10 * D, "10d"), (367 * D, "367d"), (400 * D, "400d"), (2 * Y + D, "2y1d"), (800 * D, "2y70d"),
    (3 * Y, "3y"), (8 * Y, "8y"), (20 * Y, "20y"),
])
def test_human_duration(seconds, text):
    assert printers.human_duration(seconds) == text


def test_table_matches_kubectl_layout():
    text = printers.format_table(["NAME", "TYPE", "PORT(S)", "AGE"],
                                 [["my-httpbin", "ExternalName", "80/TCP", "4s"],
                                  ["my-wikipedia", "ClusterIP", "443/TCP", "12m"]])
    assert text == (
        "NAME           TYPE           PORT(S)   AGE\n"
        "my-httpbin     ExternalName   80/TCP    4s\n"
        "my-wikipedia   ClusterIP      443/TCP   12m\n")


def test_table_empty_cells_and_numbers():
    text = printers.format_table(["NAME", "CODE", "IP"], [["a", "200", ""], ["bb", "0", None]])
    # numbers stay left-aligned as text; empty cells read <none>; no trailing spaces
    assert text == ("NAME   CODE   IP\n"
                    "a      200    <none>\n"
                    "bb     0      <none>\n")


def test_list_wrapper():
    assert printers.to_list([{"kind": "Service"}]) == {
        "apiVersion": "v1", "items": [{"kind": "Service"}], "kind": "List",
        "metadata": {"resourceVersion": ""}}


def test_yaml_and_json_sort_keys_like_kubectl():
    obj = {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "a"}}
    assert printers.format_yaml(obj) == "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
    assert printers.format_json(obj).splitlines()[1] == '    "apiVersion": "v1",'
