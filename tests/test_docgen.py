import subprocess
import sys

from fashionrec import config


def test_generated_docs_are_current() -> None:
    result = subprocess.run([sys.executable, "-m", "fashionrec.docgen", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_setting_says_what_it_means() -> None:
    for cls in (config.EncoderSettings, config.RetrievalSettings, config.OutfitSettings):
        assert [v for v, doc in config.env_vars(cls).items() if not doc] == []
