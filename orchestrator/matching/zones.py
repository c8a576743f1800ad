"""The similarity zones lookup ranks fitting candidates into (docs/design.md, "Zones"):
a sure hit is run, an agreed one is run too, a gray-zone one is asked about, the rest miss."""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings
from ..storage.store import Candidate
from .candidates import Fitting


@dataclass
class Zones:
    sure: list[Candidate]  # at or above the sure-hit similarity, every word of the task explained
    agreed: list[Candidate]  # from the agreement similarity up: names exactly what a verified text names
    gray: list[Candidate]  # from the confirm similarity up: the model is asked first

    def describe(self, fitting: Fitting, settings: Settings) -> str:
        """One line saying what lookup decided and why."""
        candidates = fitting.candidates
        if self.sure:
            decision = f"hit: {self.sure[0].procedure.id} (similarity {self.sure[0].similarity:.3f})"
        elif self.agreed:
            decision = (f"hit: {self.agreed[0].procedure.id} (similarity {self.agreed[0].similarity:.3f}; "
                        "the task names what its verified texts name)")
        elif self.gray:
            decision = f"gray zone: {self.gray[0].procedure.id} at {self.gray[0].similarity:.3f}"
        elif candidates:
            decision = (f"miss: nearest fitting {candidates[0].procedure.id} at {candidates[0].similarity:.3f} "
                        f"< {settings.confirm_similarity}")
        else:
            decision = "miss: no procedure of this namespace fits these inputs"
        return "; ".join([decision, *fitting.ruled_out])


def zones(fitting: Fitting, settings: Settings) -> Zones:
    """At or above the sure-hit similarity a candidate is run, unless the request has a word none
    of its known texts explains (guards.Reading.unexplained: then it is asked about); from the
    agreement similarity up, so is one that names exactly what one of its verified texts names,
    with every word explained (a German or terse request far from English keys); in the gray
    zone the model is asked first; below it is a miss."""
    reading, candidates = fitting.reading, fitting.candidates
    sure = [c for c in candidates if c.similarity >= settings.hit_similarity
            and not (settings.sure_hit_needs_known_words and reading.unexplained(c.procedure))]
    agree_from = settings.agree_similarity
    agreed = [c for c in candidates if agree_from is not None and agree_from <= c.similarity < settings.hit_similarity
              and reading.agrees(c)]
    gray = [c for c in candidates if settings.confirm_similarity <= c.similarity
            and all(c is not a for a in sure + agreed)]
    return Zones(sure, agreed, gray)
