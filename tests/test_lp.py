"""LPBuilder assembles row blocks into one canonical CSR matrix, equal to the dense one by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.model.lp import LPBuilder


def test_parts_in_any_block_order_with_duplicates_give_the_matrix_by_hand():
    builder = LPBuilder()
    builder.add_columns("x", 3, lower=0.0, upper=np.inf)
    builder.add_columns("y", 2, lower=0.0, upper=1.0)
    # y's part comes first, and x's part repeats entry (0, 2) and lists columns out of order
    x_part = sp.coo_array(([1.0, 2.0, 5.0, 3.0], ([0, 0, 1, 0], [2, 0, 1, 2])), shape=(2, 3))
    y_part = sp.csr_array(np.array([[0.0, 7.0], [4.0, 0.0]]))
    builder.add_rows("r", {"y": y_part, "x": x_part}, lower=0.0, upper=1.0)
    lp = builder.build()
    expected = np.array([[2.0, 0.0, 4.0, 0.0, 7.0],
                         [0.0, 5.0, 0.0, 4.0, 0.0]])
    np.testing.assert_array_equal(lp.matrix.toarray(), expected)
    assert lp.matrix.has_sorted_indices and lp.matrix.nnz == 5


def test_a_builder_on_a_base_widens_its_rows_and_keeps_them_first():
    first = LPBuilder()
    first.add_columns("x", 2, lower=0.0, upper=np.inf)
    first.add_rows("a", {"x": sp.csr_array(np.array([[1.0, 2.0]]))}, lower=-np.inf, upper=3.0)
    base = first.build()
    second = LPBuilder(base)
    second.add_columns("t", 1, lower=0.0, upper=1.0)
    second.add_rows("b", {"x": sp.csr_array(np.eye(2)), "t": sp.csr_array(np.array([[-1.0], [-2.0]]))},
                    lower=0.0, upper=np.inf)
    lp = second.build()
    np.testing.assert_array_equal(lp.matrix.toarray(), [[1, 2, 0], [1, 0, -1], [0, 1, -2]])
    assert dict(lp.row_blocks) == {"a": slice(0, 1), "b": slice(1, 3)}
    np.testing.assert_array_equal(lp.row_upper, [3.0, np.inf, np.inf])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(0, 5))
def test_random_blocks_assemble_to_their_dense_sum(seed, blocks, rows):
    rng = np.random.default_rng(seed)
    builder = LPBuilder()
    widths = rng.integers(1, 5, size=blocks)
    for b, width in enumerate(widths):
        builder.add_columns(f"c{b}", int(width), lower=0.0, upper=1.0)
    expected = np.zeros((rows, int(widths.sum())))
    parts = {}
    for b in rng.permutation(blocks):
        dense = np.where(rng.random((rows, widths[b])) < 0.4, rng.normal(size=(rows, widths[b])), 0.0)
        start = int(widths[:b].sum())
        expected[:, start:start + widths[b]] = dense
        parts[f"c{b}"] = sp.csr_array(dense)
    builder.add_rows("r", parts, lower=0.0, upper=1.0)
    matrix = builder.build().matrix
    np.testing.assert_array_equal(matrix.toarray(), expected)
    assert matrix.has_sorted_indices


def test_a_base_holding_another_sparse_format_is_read_correctly():
    # found in review: the base's arrays were read as CSR whatever the matrix's format
    from allocator.model.lp import LPModel

    dense = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    base = LPModel(cost=np.zeros(3), col_lower=np.zeros(3), col_upper=np.ones(3), matrix=sp.csc_array(dense),
                   row_lower=np.zeros(2), row_upper=np.ones(2), col_blocks={"x": slice(0, 3)},
                   row_blocks={"a": slice(0, 2)})
    builder = LPBuilder(base)
    builder.add_rows("b", {"x": sp.csr_array(np.array([[0.0, 4.0, 5.0]]))}, lower=0.0, upper=1.0)
    np.testing.assert_array_equal(builder.build().matrix.toarray(), [[1, 0, 2], [0, 3, 0], [0, 4, 5]])


def test_a_boolean_mask_selects_rows_of_a_measure():
    from allocator.model.measures import FillMeasure

    measure = FillMeasure("m", sp.csr_array(np.eye(2)), np.ones(2), lambda: None, np.zeros(2, dtype=int))
    np.testing.assert_array_equal(measure.subset(np.array([False, True])).toarray(), [[0.0, 1.0]])
    assert measure.subset(np.arange(2)) is measure.matrix


def test_violation_is_the_largest_relative_excess_over_any_finite_bound():
    builder = LPBuilder()
    builder.add_columns("x", 3, lower=np.array([0.0, -np.inf, 1.0]), upper=np.array([np.inf, 5.0, np.inf]))
    builder.add_rows("r", {"x": sp.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))},
                     lower=np.array([-np.inf, 2.0]), upper=np.array([4.0, np.inf]))
    lp = builder.build()
    assert lp.violation(np.array([1.0, 2.0, 3.0])) == 0.0
    # row 0 over its upper bound 4 by 1: 1 / (1 + 4); infinite bounds elsewhere must not hide it
    assert lp.violation(np.array([2.0, 3.0, 3.0])) == pytest.approx(0.2)
    # column 0 below its lower bound 0 by 0.5, column 2 below 1 by 1 (row 1 below 2 by 2: 2/3 is the largest)
    assert lp.violation(np.array([-0.5, 0.0, 0.0])) == pytest.approx(2 / 3)
    # column 1 over its upper bound 5 (row 0 then over 4 too)
    assert lp.violation(np.array([-1.0, 9.0, 3.0])) == pytest.approx(max(4 / 6, 1 / 1, 4 / 5))
    # a NaN or an infinity anywhere is no solution
    assert lp.violation(np.array([np.nan, 1.0, 1.0])) == np.inf
    assert lp.violation(np.array([1.0, 1.0, np.inf])) == np.inf
