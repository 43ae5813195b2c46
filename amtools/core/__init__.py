"""What every stage shares: the data model and the words, numbers and files around it.

``schema`` declares the 15 tables; ``dataset`` holds them; ``errors`` and ``problems`` say what
went wrong (a :class:`~amtools.core.problems.Problem` names the table, column, rows and fix);
``messages`` and ``i18n`` turn keys into English or Russian; ``periods``, ``vocab`` (segments,
levels, the no-team label), ``paths``, ``files`` (the one atomic writer), ``textsafe`` (data
text made inert) and ``settings`` (the one reader of ``params/``) complete it. Nothing here
imports another stage.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
