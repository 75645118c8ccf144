"""The content of the sample corpus's slides and spreadsheets (see ``samples/FACTS.md``).

All invented, for the fictional company Aurora Logística S.L.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from corpus_formats import Sheet, Slide  # samples/, beside this module

ALL_HANDS_TITLE = "All-Hands Q4 2025"
ALL_HANDS_SUBTITLE = "22 January 2026 · Valencia, streamed to Zaragoza, Sevilla and Lisbon\nMarta Iborra Climent, CEO"
ALL_HANDS_SLIDES: tuple[Slide, ...] = (
    Slide(
        "FY2025 at a glance",
        bullets=(
            "Revenue: EUR 52.7 million, up 9.4% from EUR 48.2 million in 2024",
            "On-time delivery: 98.1% across the network (target 98.5%)",
            "37 new customers signed during the year",
            "1.86 million pallets handled in our warehouses",
            "Sevilla reached 400 days without a lost-time accident on 30 December",
        ),
    ),
    Slide(
        "Our sites in numbers (2025)",
        table=(
            ("Site", "Headcount (31 Dec)", "Pallets handled", "On-time delivery"),
            ("Valencia (HQ)", "138", "n/a (transport and offices)", "98.4%"),
            ("Zaragoza", "121", "1,020,000", "98.0%"),
            ("Sevilla", "109", "840,000", "98.2%"),
            ("Lisbon", "44", "n/a (office)", "97.6%"),
            ("Total", "412", "1,860,000", "98.1%"),
        ),
    ),
    Slide(
        "2026 priorities",
        bullets=(
            "Zaragoza automated sorter: go-live in October 2026",
            "ISO 14001 environmental certification by Q4 2026",
            "New Valencia office at Calle de Menorca 19 from 2 March 2026",
            "Reduce warehouse safety incidents by 20%",
            "Grow the Portuguese customer base from the Lisbon office",
        ),
    ),
    Slide(
        "People",
        bullets=(
            "Employee survey: 82% participation, eNPS +31 (2024: +24)",
            "Buddy programme: every new joiner gets a buddy for their first 90 days",
            "Summer hours: offices work 08:00-15:00 from 1 July to 31 August",
            "Annual security awareness course: complete it by 31 March 2026",
        ),
    ),
    Slide(
        "Questions?",
        bullets=(
            "Send questions anonymously through Portal Aurora",
            "Next all-hands: 23 April 2026",
        ),
    ),
)


_WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")

# (date, holiday, scope, Valencia, Zaragoza, Sevilla, Lisboa)
_HOLIDAYS: tuple[tuple[dt.date, str, str, str], ...] = (
    (dt.date(2026, 1, 1), "Año Nuevo", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 1, 6), "Epifanía del Señor", "Nacional (España)", "VZS"),
    (dt.date(2026, 1, 22), "San Vicente Mártir", "Local (Valencia)", "V"),
    (dt.date(2026, 1, 29), "San Valero", "Local (Zaragoza)", "Z"),
    (dt.date(2026, 2, 17), "Carnaval", "Empresa (Lisboa)", "L"),
    (dt.date(2026, 3, 5), "Cincomarzada", "Local (Zaragoza)", "Z"),
    (dt.date(2026, 3, 19), "San José", "Autonómico (Comunitat Valenciana)", "V"),
    (dt.date(2026, 4, 2), "Jueves Santo", "Autonómico (Aragón y Andalucía)", "ZS"),
    (dt.date(2026, 4, 3), "Viernes Santo", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 4, 6), "Lunes de Pascua", "Autonómico (Comunitat Valenciana)", "V"),
    (dt.date(2026, 4, 13), "San Vicente Ferrer", "Local (Valencia)", "V"),
    (dt.date(2026, 4, 23), "San Jorge, Día de Aragón", "Autonómico (Aragón)", "Z"),
    (dt.date(2026, 4, 25), "Dia da Liberdade", "Nacional (Portugal)", "L"),
    (dt.date(2026, 5, 1), "Fiesta del Trabajo", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 6, 4), "Corpus Christi", "Local (Dos Hermanas) y nacional (Portugal)", "SL"),
    (dt.date(2026, 6, 10), "Dia de Portugal", "Nacional (Portugal)", "L"),
    (dt.date(2026, 6, 13), "Santo António", "Local (Lisboa)", "L"),
    (dt.date(2026, 6, 24), "San Juan", "Autonómico (Comunitat Valenciana)", "V"),
    (dt.date(2026, 8, 15), "Asunción de la Virgen", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 10, 5), "Implantação da República", "Nacional (Portugal)", "L"),
    (
        dt.date(2026, 10, 9),
        "Día de la Comunitat Valenciana",
        "Autonómico (Comunitat Valenciana)",
        "V",
    ),
    (
        dt.date(2026, 10, 12),
        "Fiesta Nacional de España y Virgen del Pilar",
        "Nacional (España)",
        "VZS",
    ),
    (dt.date(2026, 10, 19), "Lunes de Valme", "Local (Dos Hermanas)", "S"),
    (dt.date(2026, 11, 1), "Todos los Santos", "Nacional (España y Portugal)", "VZSL"),
    (
        dt.date(2026, 11, 2),
        "Lunes siguiente a Todos los Santos",
        "Autonómico (Aragón y Andalucía)",
        "ZS",
    ),
    (dt.date(2026, 12, 1), "Restauração da Independência", "Nacional (Portugal)", "L"),
    (
        dt.date(2026, 12, 7),
        "Lunes siguiente al Día de la Constitución",
        "Autonómico (Aragón y Andalucía)",
        "ZS",
    ),
    (dt.date(2026, 12, 8), "Inmaculada Concepción", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 12, 25), "Navidad", "Nacional (España y Portugal)", "VZSL"),
)


def holiday_sheets() -> tuple[Sheet, Sheet]:
    rows: list[Sequence[str | dt.date]] = [
        ("Fecha", "Día", "Festividad", "Ámbito", "Valencia", "Zaragoza", "Sevilla", "Lisboa")
    ]
    for day, name, scope, sites in _HOLIDAYS:
        flags = tuple("Sí" if code in sites else "No" for code in "VZSL")
        rows.append((day, _WEEKDAYS_ES[day.weekday()], name, scope, *flags))
    holidays = Sheet("Festivos 2026", rows)
    rules = Sheet(
        "Vacaciones y cierres",
        (
            ("Concepto", "Valor", "Observaciones"),
            (
                "Días de vacaciones al año (España)",
                "23 días laborables",
                "Jornada completa; proporcional para contratos parciales e incorporaciones durante el año.",
            ),
            (
                "Días de vacaciones al año (Lisboa)",
                "22 días laborables",
                "Según la legislación portuguesa.",
            ),
            (
                "Día de libre disposición",
                "1 día",
                "Se disfruta antes del 31/12/2026; no se puede acumular.",
            ),
            (
                "Plazo para pedir las vacaciones de verano (julio a septiembre)",
                "31/03/2026",
                "Se piden en Portal Aurora; el responsable contesta antes del 30/04/2026.",
            ),
            (
                "Días de vacaciones que se pueden trasladar al año siguiente",
                "Máximo 3 días",
                "Se deben disfrutar antes del 31/01/2027.",
            ),
            (
                "Cierre de oficinas",
                "24/12/2026 y 31/12/2026",
                "Los almacenes abren con servicio mínimo.",
            ),
            (
                "Campaña de Navidad en almacenes",
                "Del 16/11/2026 al 08/01/2027",
                "No se conceden vacaciones al personal de almacén salvo causa justificada.",
            ),
        ),
    )
    return holidays, rules


FLEET_SHEET = Sheet(
    "Fleet",
    (
        (
            "Vehicle type",
            "Units",
            "Max payload (kg)",
            "Pallet capacity",
            "Base",
            "Fuel / energy",
            "Average age (years)",
        ),
        (
            "Tractor unit with curtain-side semi-trailer",
            38,
            24000,
            33,
            "Zaragoza, Sevilla",
            "Diesel (Euro VI)",
            4.1,
        ),
        ("Tractor unit, LNG", 6, 24000, 33, "Zaragoza", "Liquefied natural gas", 2.0),
        (
            "Refrigerated semi-trailer (-25 °C to +25 °C)",
            14,
            22000,
            33,
            "Sevilla",
            "Diesel tractor, electric reefer unit",
            3.4,
        ),
        ("Rigid truck 12 t", 22, 6500, 14, "Valencia, Zaragoza, Sevilla", "Diesel (Euro VI)", 5.0),
        ("Electric van 3.5 t", 9, 900, 4, "Valencia, Sevilla", "Battery electric", 1.6),
    ),
)

RATES_SHEET = Sheet(
    "Rates 2026",
    (
        ("Code", "Service", "Unit", "Price (EUR, excl. VAT)", "Notes"),
        (
            "WH-AMB",
            "Ambient storage (15-25 °C)",
            "pallet per week",
            2.40,
            "Minimum 20 pallets per month",
        ),
        ("WH-REF", "Refrigerated storage (2-8 °C)", "pallet per week", 5.90, "Sevilla only"),
        ("PK-LINE", "Order picking", "order line", 0.38, "Per line picked"),
        ("PK-ORD", "Order handling fee", "order", 1.15, "Per outbound order"),
        ("VAS-LBL", "Labelling or relabelling", "unit", 0.09, "Labels supplied by the customer"),
        (
            "TR-FTL-MAD",
            "Full truck load Valencia - Madrid",
            "trip",
            690.00,
            "Fuel surcharge when diesel exceeds EUR 1.50 per litre",
        ),
        (
            "TR-FTL-LIS",
            "Full truck load Valencia - Lisbon",
            "trip",
            1480.00,
            "Fuel surcharge when diesel exceeds EUR 1.50 per litre",
        ),
        ("TR-GRP", "Groupage, mainland Spain", "pallet", 58.00, "48-72 h transit time"),
        (
            "TR-ECO",
            "Urban electric delivery (Valencia, Sevilla)",
            "drop",
            6.50,
            "Zero-emission vans",
        ),
    ),
    number_format="#,##0.00",
)
