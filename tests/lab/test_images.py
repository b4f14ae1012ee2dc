"""The list of lab images that `lab.build` (and the test task, first) builds."""

import pytest

from runbooks.lab import engine
from runbooks.lab.engine.images import IMAGES_DIR, SOURCE_BUILT


def test_every_image_with_a_dockerfile_is_listed_with_the_base_first():
    names = engine.image_names()
    assert names[0] == "base"
    assert sorted(names) == sorted(p.parent.name for p in IMAGES_DIR.glob("*/Dockerfile"))
    assert set(SOURCE_BUILT) <= set(names)


def test_an_unknown_image_is_one_line_naming_the_choices_before_anything_is_built():
    with pytest.raises(engine.LabError, match=r"^no lab image named 'lizard': choose from base, "):
        engine.build_images(["moosefs", "lizard"])
