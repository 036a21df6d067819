from mlci.core.metric_names import HIGHER_IS_BETTER, KEY_METRICS, METRIC_NAMES


def test_metric_names__the_type_and_the_directions_list_the_same_metrics_in_the_same_order():
    assert tuple(HIGHER_IS_BETTER) == METRIC_NAMES


def test_key_metrics__are_metrics_evaluate_writes():
    assert set(KEY_METRICS) <= set(METRIC_NAMES)
