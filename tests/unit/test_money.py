"""Money and the domain errors: exact decimals, one rounding rule, stable codes."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from letsema_core.errors import DomainError, InvalidTransition, NotFound, ValidationError
from letsema_core.money import CENT, CURRENCY, ROUNDING, CurrencyMismatch, Money, round_cent, to_decimal

pytestmark = pytest.mark.unit

D = Decimal


class TestRoundCent:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("0.005", "0.01"),
            ("0.015", "0.02"),
            ("0.025", "0.03"),
            ("0.0049999", "0.00"),
            ("2.675", "2.68"),
            ("-0.005", "-0.01"),
            ("-1.2349", "-1.23"),
            ("945.5960", "945.60"),
        ],
    )
    def test_rounds_half_up_away_from_zero_to_the_cent(self, value: str, expected: str) -> None:
        assert str(round_cent(D(value))) == expected

    def test_the_one_rounding_rule_is_half_up_to_the_cent(self) -> None:
        assert (decimal.ROUND_HALF_UP, D("0.01"), "LSL") == (ROUNDING, CENT, CURRENCY)


class TestToDecimal:
    @pytest.mark.parametrize(
        ("value", "expected"), [(D("1.50"), D("1.50")), (7, D("7")), (" 2.25 ", D("2.25")), (Money("3.10"), D("3.10"))]
    )
    def test_accepts_decimal_int_string_and_money(self, value: object, expected: Decimal) -> None:
        assert to_decimal(value, field="amount") == expected  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [0.1, True, "abc", "Infinity", "NaN", None, [1]])
    def test_refuses_floats_bools_and_non_numbers_naming_the_field(self, value: object) -> None:
        with pytest.raises(ValidationError) as caught:
            to_decimal(value, field="fee")  # type: ignore[arg-type]
        assert (caught.value.field, caught.value.rule) == ("fee", "decimal")


class TestMoney:
    def test_float_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            Money(0.1)  # type: ignore[arg-type]

    def test_float_trap_catches_a_stray_float_in_decimal_arithmetic(self) -> None:
        # The autouse conftest fixture turns FloatOperation into an error for every unit test.
        with pytest.raises(decimal.FloatOperation):
            D("1.00") + D(0.1)

    def test_keeps_full_precision_until_rounded(self) -> None:
        third = Money(D("10") / 3)
        assert third.amount != round_cent(third.amount)
        assert third.rounded() == Money("3.33")
        assert str(Money("2.675")) == "2.68"
        assert repr(Money("1.5")) == "Money('1.5', 'LSL')"

    def test_arithmetic_with_money_decimal_and_int(self) -> None:
        a = Money("10.50")
        assert a + Money("0.25") == Money("10.75")
        assert a + 1 == Money("11.50")
        assert 1 + a == Money("11.50")
        assert a - D("0.50") == Money("10.00")
        assert 20 - a == Money("9.50")
        assert a * 2 == Money("21.00")
        assert 3 * a == Money("31.50")
        assert -a == Money("-10.50")
        assert abs(Money("-4")) == Money("4")
        assert sum([Money("1.10"), Money("2.20")], Money.zero()) == Money("3.30")

    def test_currency_mismatch_is_refused(self) -> None:
        with pytest.raises(CurrencyMismatch) as caught:
            Money("1", "LSL") + Money("1", "ZAR")
        assert caught.value.code == "currency_mismatch"
        assert caught.value.details == {"left": "LSL", "right": "ZAR"}
        assert Money("1", "LSL") != Money("1", "ZAR")

    @pytest.mark.parametrize("factor", [0.5, True, Money("2")])
    def test_multiplying_by_a_float_bool_or_money_is_refused(self, factor: object) -> None:
        with pytest.raises(TypeError):
            Money("1") * factor  # type: ignore[operator]

    def test_adding_an_unsupported_type_is_refused(self) -> None:
        with pytest.raises(TypeError):
            Money("1") + 0.5  # type: ignore[operator]

    def test_comparisons_and_predicates(self) -> None:
        assert Money("1") < Money("2") <= Money("2") < 3
        assert Money("3") > D("2.99") >= D("2.99")
        assert Money("3") >= 3
        assert Money("0").is_zero()
        assert not Money("0")
        assert Money("0.01")
        assert Money("-0.01").is_negative()
        assert not Money("0.01").is_negative()
        assert Money.zero() == Money("0.00")
        assert Money("1") != D("1")
        assert hash(Money("1.0")) == hash(Money("1.00"))


class TestErrors:
    def test_validation_error_names_field_rule_and_limits(self) -> None:
        error = ValidationError("too small", field="principal", rule="min_value", min="500.00")
        assert (error.code, error.http_status) == ("validation_error", 400)
        assert error.details == {"field": "principal", "rule": "min_value", "min": "500.00"}
        assert isinstance(error, DomainError)
        assert str(error) == "too small"
        assert "validation_error" in repr(error)

    def test_invalid_transition_and_not_found_carry_their_context(self) -> None:
        transition = InvalidTransition(entity="loan", from_state="closed", action="disburse")
        assert (transition.code, transition.http_status) == ("invalid_transition", 409)
        assert transition.message == "cannot disburse a loan that is closed"
        missing = NotFound(entity="loan", key=42)
        assert (missing.code, missing.http_status, missing.details) == (
            "not_found",
            404,
            {"entity": "loan", "key": "42"},
        )

    def test_domain_error_defaults(self) -> None:
        error = DomainError("broken")
        assert (error.code, error.http_status, error.details) == ("domain_error", 422, {})
