"""retraining/figures/fonts.py: class names in any script drawn with a font
that has their letters, or the missing ones named."""

import sys
import warnings

import matplotlib
import numpy as np
import pytest

from retraining.figures import charts, fonts

from conftest import make_photo

matplotlib.use('Agg')


KOREAN_LABELS = ['데이지', '민들레', '장미', '튤립', '해바라기']


def scores_for(label_count, best, seed=0):
  rng = np.random.RandomState(seed)
  scores = rng.rand(label_count)
  scores[best] = label_count
  return scores / scores.sum()


def saved_figures(monkeypatch):
  """The figures charts saves from now on, kept to be looked into."""
  figures = []
  save = charts._save_png
  def keep(fig, path):
    figures.append(fig)
    save(fig, path)
  monkeypatch.setattr(charts, '_save_png', keep)
  return figures


def glyphs_of(text):
  """[(characters, font file, whether it has them)] as the Agg backend draws
  `text`: each character goes to the first font in the fallback list that
  has it, and ligatures ('fi') are one glyph."""
  from matplotlib import _text_helpers, font_manager
  font = font_manager.get_font(
      font_manager.fontManager._find_fonts_by_props(text.get_fontproperties()))
  return [(item.char, item.ft_object.fname,
           item.glyph_index != 0 and all(
               item.ft_object.get_char_index(ord(c)) for c in item.char))
          for line in text.get_text().splitlines()
          for item in _text_helpers.layout(line, font)]


def test_korean_labels_are_drawn_with_a_font_that_has_them(tmp_path,
                                                           monkeypatch,
                                                           capsys):
  """Even where no Korean font is installed: the charts bring their own."""
  family = list(matplotlib.rcParams['font.family'])
  figures = saved_figures(monkeypatch)
  photo = make_photo(str(tmp_path / '장미' / '장미_1.jpg'), (200, 30, 40), 1)
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    charts.save_confusion_matrix(np.eye(5, dtype=int), KOREAN_LABELS,
                                 str(tmp_path / 'matrix.png'))
    charts.save_prediction_figure([(photo, scores_for(5, 2))], KOREAN_LABELS,
                                  str(tmp_path / 'one.png'))
    charts.save_prediction_figure([(photo, scores_for(5, i)) for i in range(3)],
                                  KOREAN_LABELS, str(tmp_path / 'grid.png'))
    for fig in figures:  # Again, after the charts' settings are gone.
      fig.canvas.draw()
  assert not [w for w in caught if 'missing from font' in str(w.message)]
  assert 'WARNING' not in capsys.readouterr().err
  drawn = ''
  for fig in figures:
    for text in fig.findobj(matplotlib.text.Text):
      for chars, font_file, has_them in glyphs_of(text):
        assert has_them, '%r has no glyph in %s' % (chars, font_file)
        drawn += chars
  for label in KOREAN_LABELS:
    assert label in drawn
  assert matplotlib.rcParams['font.family'] == family  # Left as it was.
  assert 'koreanize_matplotlib' not in sys.modules  # Its import sets rcParams.


@pytest.mark.parametrize('labels,script,how', [
    (['กุหลาบ', 'ทานตะวัน'], 'Thai', 'Noto Sans Thai'),
    (KOREAN_LABELS, 'Hangul', 'pip install koreanize-matplotlib')])
def test_letters_no_font_has_are_named_in_one_line(tmp_path, monkeypatch,
                                                   capsys, labels, script, how):
  """Not one warning per glyph with its source line, as matplotlib gives."""
  monkeypatch.setattr(fonts, '_add_bundled_korean_font', lambda: None)
  monkeypatch.setattr(fonts, '_installed_families', lambda names: [])
  with matplotlib.rc_context({'font.family': ['DejaVu Sans']}), \
      warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    charts.save_confusion_matrix(np.eye(len(labels), dtype=int), labels,
                                 str(tmp_path / 'matrix.png'))
  assert not [w for w in caught if 'missing from font' in str(w.message)]
  lines = capsys.readouterr().err.splitlines()
  assert len(lines) == 1, lines
  assert lines[0].startswith('WARNING: no font here has %s (' % script)
  assert 'boxes' in lines[0] and how in lines[0]
