"""Teaching kit: lessons and quiz cases read from YAML files, quiz scoring, class summaries and handouts.

``pack`` reads and checks a folder of lessons and cases (``docs/teaching-format.md``), ``quiz``
scores a student's answers and merges a class's CSVs, ``handout`` prints one page per case.
The widgets live in ``twitchbn.ui.teaching``; no lesson content lives in Python.
"""

from twitchbn.teaching.pack import Pack, PackError, TeachingFile, check_pack, default_pack_path, load_pack

__all__ = ["Pack", "PackError", "TeachingFile", "check_pack", "default_pack_path", "load_pack"]
