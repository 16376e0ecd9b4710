"""A follow-up's place is sent to the whole team: a child's first name in it is refused
(as in the reference), and ordinary Dalsland places are not."""

from __future__ import annotations

import pytest

from storage.plans.store import PlanError, check_place

PLACES = [
    "Familjecentralen", "Skolan rum 3", "Åmåls kommunhus", "Kulturhuset", "Dals-Eds skola",
    "BUP Vänersborg", "Mellerud vårdcentral", "Teams", "Familjecentralen Åmål",
    "Bengtsfors bibliotek", "Socialkontoret Bäckefors", "Zoom", "Stadshuset",
    "Färgelanda kommunhus", "Brålanda skola", "Ungdomsmottagningen", "Elevhälsan rum 12",
]  # fmt: skip
WITH_NAMES = ["Hos Lisa hemma", "hemma hos Elin", "Hos Mohammed", "Emmas förskola", "ELIN"]


@pytest.mark.parametrize("place", PLACES)
def test_ordinary_places_are_kept(place: str) -> None:
    assert check_place(place) == place


@pytest.mark.parametrize("place", WITH_NAMES)
def test_a_place_with_a_first_name_is_refused(place: str) -> None:
    with pytest.raises(PlanError, match=r"^plans\.place_first_name$"):
        check_place(place)
