"""What the demo company sells and how its segments behave: the generator's fixed catalogue.

Products, competitors, lost reasons, skills and the training catalogue are public (tests and
docs quote them); the per-segment rates (:data:`SEG`), seasonality, regions, team names and
the activity and lost-reason mixes tune the draws of the table modules.

Example
-------
>>> from amtools.demo.catalog import COURSES, PRODUCTS
>>> len(PRODUCTS), COURSES[0][0]
(8, 'AM-101')
"""

from __future__ import annotations

import numpy as np

from amtools.core.vocab import SEGMENTS

__all__ = [
    "PRODUCTS",
    "PROJECT_PRODUCTS",
    "COMPETITORS",
    "LOST_REASONS",
    "COMPETITOR_REASONS",
    "SKILLS",
    "COURSES",
    "TRAITS",
    "B2B",
    "B2C",
    "SEG",
    "SEASON",
    "REGIONS",
    "TEAM_NAMES",
    "INDUSTRIES",
    "CONTACT_ROLES",
    "ACTIVITY_TYPES",
    "ACTIVITY_MIX",
    "LOST_MIX",
]

B2B, B2C = SEGMENTS
"""The two client segments (``amtools.core.vocab.SEGMENTS``), as the generator spells them."""

PRODUCTS: dict[str, dict[str, float]] = {
    # name: share of B2C / B2B deals, relative price, cost of goods as a share of list price
    "Internet Access": {"b2c": 0.30, "b2b": 0.16, "price": 1.0, "cost": 0.45},
    "Mobile Plans": {"b2c": 0.25, "b2b": 0.12, "price": 0.8, "cost": 0.50},
    "Cloud Storage": {"b2c": 0.12, "b2b": 0.14, "price": 0.9, "cost": 0.35},
    "Cybersecurity": {"b2c": 0.10, "b2b": 0.14, "price": 1.4, "cost": 0.40},
    "Smart Home": {"b2c": 0.13, "b2b": 0.00, "price": 1.2, "cost": 0.55},
    "Video Surveillance": {"b2c": 0.10, "b2b": 0.10, "price": 1.6, "cost": 0.60},
    "IT Outsourcing": {"b2c": 0.00, "b2b": 0.18, "price": 2.2, "cost": 0.65},
    "Data Analytics": {"b2c": 0.00, "b2b": 0.16, "price": 1.8, "cost": 0.40},
}
"""Product lines sold (used for cross-sales): segment mix, relative price and cost ratio."""

PROJECT_PRODUCTS = (
    "IT Outsourcing",
    "Data Analytics",
    "Cybersecurity",
    "Video Surveillance",
    "Smart Home",
)

COMPETITORS = (
    "Vector Telecom",
    "Altair Systems",
    "Polaris Networks",
    "Sirius Cloud",
    "Meridian IT",
)
"""Named competitors that win lost deals (Polaris Networks gains share over time)."""

LOST_REASONS = ("price", "features", "timing", "competitor relationship", "no decision")
"""Reasons a deal was lost; a competitor is named only for the first, second and fourth."""

COMPETITOR_REASONS = ("price", "features", "competitor relationship")
"""Lost reasons for which the competitor that won is named."""

SKILLS = (
    "communication and negotiation",
    "creativity and broad outlook",
    "leadership",
    "analytical and strategic thinking",
    "product and market knowledge",
    "fast sales and objection handling",
    "strategic thinking and negotiation",
)
"""Skills of an account manager, as listed in the domain source."""

COURSES: tuple[tuple[str, str, str, float], ...] = (
    # (course code, title, skill certified, hours)
    ("AM-101", "Business Communication Essentials", SKILLS[0], 8.0),
    ("AM-102", "Negotiation Workshop", SKILLS[0], 16.0),
    ("AM-201", "Creative Problem Solving", SKILLS[1], 8.0),
    ("AM-202", "Industry Trends Seminar", SKILLS[1], 6.0),
    ("AM-301", "Team Leadership Basics", SKILLS[2], 16.0),
    ("AM-401", "Sales Analytics with CRM Data", SKILLS[3], 12.0),
    ("AM-402", "Strategic Account Planning", SKILLS[3], 12.0),
    ("AM-501", "Product Certification: Connectivity and Cloud", SKILLS[4], 20.0),
    ("AM-502", "Competitor and Market Landscape", SKILLS[4], 6.0),
    ("AM-601", "Fast Sales Techniques", SKILLS[5], 8.0),
    ("AM-602", "Objection Handling Drill", SKILLS[5], 6.0),
    ("AM-701", "Key Account Management", SKILLS[6], 24.0),
    ("AM-702", "Complex Deal Negotiation", SKILLS[6], 16.0),
)
"""The corporate training catalogue the demo's ``trainings.course`` codes come from."""

TRAITS = (
    "closing",
    "prospecting",
    "retention",
    "upsell",
    "responsiveness",
    "discipline",
    "delivery",
    "activity",
    "initiative",
    "negotiation",
)
"""Latent manager strengths (z-scores) that drive the demo's KPI profiles; see ``ds.meta["traits"]``."""

# Per-segment behaviour, chosen to reproduce the domain source's B2B/B2C comparison table.
SEG: dict[str, dict[str, float]] = {
    B2B: {
        "leads": 1.8,  # new-business opportunities per manager per month
        "lead_win": 0.30,
        "exist_win": 0.55,
        "deal_rate": 0.24,  # opportunities per active client per month
        "lead_cycle": 85.0,  # median days created -> closed
        "exist_cycle": 40.0,
        "cycle_sigma": 0.55,
        "base_amount": 230_000.0,
        "size_sigma": 0.6,
        "noise_sigma": 0.35,
        "touch_rate": 3.2,  # activities per active client per month
        "lead_touches": 4.0,
        "request_rate": 0.5,
        "survey_rate": 0.10,
        "contract_share": 1.0,
        "renewal": 0.88,
        "hazard": 0.011,
        "acq_age_days": 4 * 365.0,
        "referral": 0.15,
        "disc_share": 0.85,
        "disc_mean": 0.11,
        "breadth": 0.35,
        "response_hours": 4.0,
        "resolve_hours": 30.0,
        "salary": 105_000.0,
        "project_share": 0.7,
        "project_days": 75.0,
    },
    B2C: {
        "leads": 14.0,
        "lead_win": 0.38,
        "exist_win": 0.62,
        "deal_rate": 0.11,
        "lead_cycle": 10.0,
        "exist_cycle": 4.0,
        "cycle_sigma": 0.7,
        "base_amount": 30_000.0,
        "size_sigma": 0.3,
        "noise_sigma": 0.3,
        "touch_rate": 0.45,
        "lead_touches": 1.2,
        "request_rate": 0.08,
        "survey_rate": 0.016,
        "contract_share": 0.08,
        "renewal": 0.75,
        "hazard": 0.022,
        "acq_age_days": 2 * 365.0,
        "referral": 0.08,
        "disc_share": 0.08,
        "disc_mean": 0.0,
        "breadth": 0.15,
        "response_hours": 2.5,
        "resolve_hours": 10.0,
        "salary": 78_000.0,
        "project_share": 0.12,
        "project_days": 14.0,
    },
}

# Calendar-month seasonality of sales: January and summer dips, Q4 peak.
SEASON = np.array([0.80, 0.93, 1.03, 1.00, 0.97, 0.88, 0.82, 0.85, 1.00, 1.08, 1.16, 1.36])

REGIONS = (
    "Moscow",
    "Saint Petersburg",
    "Kazan",
    "Yekaterinburg",
    "Novosibirsk",
    "Nizhny Novgorod",
    "Krasnodar",
    "Samara",
)
TEAM_NAMES = {
    B2B: ("Key Accounts", "Corporate Sales", "Mid-Market", "Public Sector", "Industry Solutions"),
    B2C: ("Retail Direct", "Online Sales", "Premium Clients", "Telesales", "Private Clients"),
}
INDUSTRIES = (
    "Manufacturing",
    "Retail",
    "IT and SaaS",
    "Finance",
    "Real estate",
    "Advertising and marketing",
    "Logistics",
    "Healthcare",
    "Construction",
    "Energy",
)
CONTACT_ROLES = (
    "CEO",
    "CFO",
    "IT director",
    "Procurement",
    "Project manager",
    "Engineer",
    "Marketing",
)
ACTIVITY_TYPES = ("meeting", "call", "email", "message", "visit")
ACTIVITY_MIX = {B2B: (0.26, 0.33, 0.33, 0.02, 0.06), B2C: (0.04, 0.46, 0.26, 0.24, 0.0)}
LOST_MIX = {B2B: (0.25, 0.20, 0.15, 0.20, 0.20), B2C: (0.42, 0.15, 0.15, 0.05, 0.23)}
