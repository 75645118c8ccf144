"""The content of the sample corpus's Word and PDF files (see ``samples/FACTS.md`` for the facts each carries).

All invented, for the fictional company Aurora Logística S.L.
"""

from __future__ import annotations

from corpus_formats import Section  # samples/, beside this module

ONBOARDING_SECTIONS: tuple[Section, ...] = (
    Section(
        "Antes de tu primer día",
        paragraphs=(
            "Unos días antes de tu incorporación recibirás un correo de "
            "onboarding@auroralogistica.example con tu usuario de Portal Aurora, el nombre de tu "
            "padrino o madrina y la hora de llegada.",
        ),
        bullets=(
            "Trae tu DNI o NIE y el número de cuenta bancaria para la nómina.",
            "Si trabajarás en un almacén, indica tu talla de calzado de seguridad y de chaleco.",
        ),
    ),
    Section(
        "Tu primer día",
        paragraphs=(
            "Te esperamos a las 9:00 en la recepción de tu centro. Laura Gimeno Ros, HR Business "
            "Partner, te dará la bienvenida, tu tarjeta de acceso y tu portátil (personal de "
            "oficina) o tu terminal de radiofrecuencia (personal de almacén).",
            "A las 12:00 comerás con tu equipo; la primera comida corre a cargo de la empresa.",
        ),
    ),
    Section(
        "Programa de padrinos y madrinas",
        paragraphs=(
            "Cada nueva incorporación tiene asignado un padrino o madrina durante sus primeros 90 "
            "días. Es una persona de otro equipo que te ayuda a conocer la empresa, resuelve dudas "
            "del día a día y se reúne contigo al menos una vez cada dos semanas.",
        ),
    ),
    Section(
        "Plan de las primeras semanas",
        table=(
            ("Momento", "Actividad", "Responsable"),
            ("Día 1", "Bienvenida, entrega de equipos y visita al centro", "HR Business Partner"),
            (
                "Semana 1",
                "Formación en prevención de riesgos laborales (PRL) de 4 horas para el personal de almacén",
                "Coordinador de PRL",
            ),
            ("Semana 1", "Alta en Portal Aurora, Gastos+ y Nexo ERP", "IT"),
            (
                "Primeros 30 días",
                "Curso obligatorio de ciberseguridad (en línea, 45 minutos)",
                "IT y Seguridad",
            ),
            ("Día 30", "Primera reunión de seguimiento", "Responsable directo"),
            ("Día 60", "Segunda reunión de seguimiento", "Responsable directo"),
            ("Día 90", "Reunión de cierre del onboarding y encuesta", "HR Business Partner"),
        ),
    ),
    Section(
        "Periodo de prueba",
        paragraphs=(
            "El periodo de prueba es de 6 meses para los puestos de técnico titulado y de 2 meses "
            "para el resto de puestos. Durante este periodo no se puede solicitar el régimen de "
            "teletrabajo.",
        ),
    ),
    Section(
        "Beneficios",
        bullets=(
            "Tarjeta de comida: 11 € por día laborable trabajado, cargados el primer día de cada mes.",
            "Seguro médico: la empresa paga el 100 % de la póliza de la persona empleada. Los "
            "familiares pueden adherirse a la tarifa de grupo. El alta debe solicitarse en los "
            "60 primeros días desde la incorporación.",
            "Descuento del 20 % en el gimnasio concertado de cada centro.",
        ),
    ),
    Section(
        "Contactos útiles",
        table=(
            ("Tema", "Contacto"),
            ("Dudas de onboarding", "onboarding@auroralogistica.example"),
            ("Soporte informático", "Extensión 4400 (helpdesk de IT)"),
            ("Nómina y contratos", "Nuria Camps Vidal, Administración de Personal"),
            ("Prevención de riesgos", "Sergio Beltrán Aznar, coordinador de PRL"),
        ),
    ),
)


SALARY_BAND_SECTIONS: tuple[Section, ...] = (
    Section(
        "Bandas salariales 2026 (España)",
        paragraphs=(
            "Importes en euros brutos anuales, jornada completa, repartidos en 14 pagas. "
            "Aprobadas por el Comité de Dirección el 9 de diciembre de 2025.",
        ),
        table=(
            ("Banda", "Puestos de ejemplo", "Mínimo", "Punto medio", "Máximo"),
            (
                "B1",
                "Operario/a de almacén, preparador/a de pedidos",
                "20.500 €",
                "23.000 €",
                "25.500 €",
            ),
            ("B2", "Carretillero/a, jefe/a de equipo", "23.500 €", "26.500 €", "29.500 €"),
            (
                "B3",
                "Técnico/a, administrativo/a, agente de tráfico",
                "27.000 €",
                "31.000 €",
                "35.000 €",
            ),
            ("B4", "Especialista, analista, key account", "34.000 €", "40.000 €", "46.000 €"),
            ("B5", "Responsable de área o de turno", "45.000 €", "53.000 €", "61.000 €"),
            ("B6", "Director/a", "62.000 €", "75.000 €", "88.000 €"),
        ),
    ),
    Section(
        "Revisión salarial 2026",
        paragraphs=(
            "Se aplica una revisión general del 3,2 % a todos los salarios base a partir del "
            "1 de abril de 2026. Se paga por primera vez en la nómina de abril.",
            "Las nuevas contrataciones no pueden superar el punto medio de su banda sin la "
            "aprobación de la directora de Personas, Lucía Ferrer Soler.",
        ),
    ),
    Section(
        "Retribución variable y complementos",
        bullets=(
            "Variable objetivo: 10 % del salario base en la banda B5 y 15 % en la banda B6.",
            "Plus de nocturnidad: 25 % sobre el salario base por hora trabajada entre las 22:00 y las 6:00.",
            "Plus de frío (cámara frigorífica de Sevilla): 95 € al mes.",
        ),
    ),
    Section(
        "Lisboa",
        paragraphs=(
            "Para la oficina de Lisboa se aplica un coeficiente de mercado de 0,88 sobre los "
            "importes de las bandas de España.",
        ),
    ),
)


IT_SECURITY_SECTIONS: tuple[Section, ...] = (
    Section(
        "1. Purpose and scope",
        paragraphs=(
            "This policy sets the minimum security rules for everyone who uses Aurora Logística "
            "systems: employees, temporary staff and contractors, in every site (Valencia, "
            "Zaragoza, Sevilla and Lisbon) and when working remotely. It is reviewed every year; "
            "the next review is due in November 2026.",
        ),
    ),
    Section(
        "2. Passwords and passphrases",
        bullets=(
            "Passwords must be at least 14 characters long. Passphrases of four or more unrelated "
            "words are encouraged.",
            "Passwords do not expire on a fixed schedule. Change your password only when you "
            "suspect it has been exposed, or when IT asks you to.",
            "The last 10 passwords cannot be reused.",
            "An account is locked after 8 consecutive failed sign-in attempts. It unlocks "
            "automatically after 15 minutes, or earlier through the IT helpdesk.",
            "Store work passwords only in the company password manager, Aurora Vault. Never "
            "write them on paper or share them, not even with IT.",
        ),
    ),
    Section(
        "3. Multi-factor authentication (MFA)",
        paragraphs=(
            "MFA is mandatory for e-mail, the AuroraConnect VPN, Nexo ERP and Portal Aurora. "
            "Use an authenticator app on your phone or a FIDO2 hardware key. Codes sent by SMS "
            "are not accepted as a second factor. If you lose your phone, call the helpdesk to "
            "get a temporary access code.",
        ),
    ),
    Section(
        "4. Devices",
        bullets=(
            "All company laptops use full-disk encryption, which must never be disabled.",
            "Screens lock automatically after 5 minutes of inactivity; lock your screen "
            "yourself whenever you leave your desk.",
            "Critical security patches are installed within 48 hours of release; all other updates within 7 days.",
            "USB storage devices are blocked by default. IT may grant an exception for up to "
            "30 days when there is a business need.",
            "On personal phones and tablets, company e-mail may only be used through the "
            "managed mail app; company files must not be downloaded to personal devices.",
        ),
    ),
    Section(
        "5. Data classification",
        paragraphs=(
            "Every document is labelled with one of four levels. The label decides who may see "
            "the document and how it may be shared.",
        ),
        table=(
            ("Level", "Examples", "Handling"),
            ("Public", "Website, customer SLA, service catalogue", "May be shared with anyone."),
            (
                "Internal",
                "Policies, procedures, all-hands slides",
                "Employees only; do not forward outside the company.",
            ),
            (
                "Confidential",
                "Payroll, salary bands, personal data",
                "Only the named team (e.g. HR); encrypted when sent outside.",
            ),
            (
                "Restricted",
                "Board minutes, budget, bank agreements",
                "Only Finance and the Management Committee; never printed in shared printers.",
            ),
        ),
        page_break_before=True,
    ),
    Section(
        "6. E-mail and phishing",
        bullets=(
            "Report suspicious messages with the Report phishing button, or forward them to "
            "seguridad@auroralogistica.example. Do not click links or open attachments first.",
            "Any request to change a supplier's bank details must be confirmed by a phone call "
            "to a number already on file, made by two different people from Finance.",
            "IT runs a simulated phishing campaign every quarter.",
        ),
    ),
    Section(
        "7. Security incidents",
        bullets=(
            "A lost or stolen laptop, phone or access card must be reported to the IT helpdesk "
            "(extension 4400, option 9 outside office hours) within 1 hour of noticing it.",
            "Possible personal data breaches are escalated to the Data Protection Officer, Ana "
            "Belén Ruiz Castelló, who decides on notifying the supervisory authority within the "
            "72 hours required by the GDPR.",
        ),
    ),
    Section(
        "8. Backups",
        paragraphs=(
            "Servers and cloud mailboxes are backed up every night and backups "
            "are kept for 35 days. A restore test is carried out every quarter.",
        ),
    ),
    Section(
        "9. Training",
        paragraphs=(
            "All staff complete the annual security awareness course by 31 March each year. New "
            "employees complete it within their first 30 days.",
        ),
    ),
    Section(
        "10. Exceptions",
        paragraphs=(
            "Exceptions to this policy are requested through an IT ticket and approved by the "
            "Head of IT & Security for a maximum of 90 days. Breaches of this policy may lead to "
            "disciplinary action.",
        ),
    ),
)


BUDGET_SECTIONS: tuple[Section, ...] = (
    Section(
        "1. Executive summary",
        bullets=(
            "Revenue budget 2026: EUR 58.4 million, up 10.8% on the 2025 actual of EUR 52.7 million.",
            "EBITDA budget 2026: EUR 6.1 million, a margin of 10.4% (2025 actual: EUR 4.9 million, 9.3%).",
            "Capital expenditure (capex): EUR 4.2 million, led by the automated sorter in Zaragoza.",
            "Headcount: from 412 at 31 December 2025 to 436 at 31 December 2026 (24 net new positions).",
            "A contingency reserve of EUR 350,000 is held centrally by the CFO and is included "
            "in other operating costs.",
            "Net debt must stay below 1.5 times EBITDA at year end.",
        ),
    ),
    Section(
        "2. Profit and loss (EUR million)",
        table=(
            ("Line", "2025 actual", "2026 budget", "Change"),
            ("Revenue", "52.7", "58.4", "+10.8%"),
            ("Personnel costs", "22.6", "24.9", "+10.2%"),
            ("Transport subcontracting", "12.5", "13.8", "+10.4%"),
            ("Fuel and energy", "4.9", "5.2", "+6.1%"),
            ("Rent and facilities", "4.3", "4.6", "+7.0%"),
            ("Other operating costs", "3.5", "3.8", "+8.6%"),
            ("EBITDA", "4.9", "6.1", "+24.5%"),
        ),
    ),
    Section(
        "3. Revenue by site (EUR million, 2026 budget)",
        table=(
            ("Site", "Revenue", "Main driver"),
            ("Zaragoza", "24.1", "Automated sorter from October 2026"),
            ("Sevilla", "17.6", "Refrigerated storage for food retail"),
            ("Lisbon", "9.8", "New Portuguese customers"),
            ("Valencia", "6.9", "Transport contracts managed from headquarters"),
            ("Total", "58.4", ""),
        ),
    ),
    Section(
        "4. Capital expenditure (EUR thousand)",
        table=(
            ("Project", "Amount", "Timing"),
            ("Automated sorter, Zaragoza warehouse", "1,750", "Go-live October 2026"),
            ("12 electric vans (Valencia and Sevilla)", "684", "Delivery May 2026"),
            ("Sevilla racking and dock levellers", "610", "Q2 2026"),
            ("Warehouse management system (WMS) upgrade", "520", "Q3 2026"),
            ("Solar panels, Sevilla warehouse roof", "350", "Q4 2026"),
            ("IT hardware and security", "286", "Throughout the year"),
            ("Total", "4,200", ""),
        ),
        page_break_before=True,
    ),
    Section(
        "5. Headcount (end of year)",
        table=(
            ("Site", "31 Dec 2025", "31 Dec 2026 budget", "Change"),
            ("Valencia", "138", "138", "0"),
            ("Zaragoza", "121", "131", "+10"),
            ("Sevilla", "109", "115", "+6"),
            ("Lisbon", "44", "52", "+8"),
            ("Total", "412", "436", "+24"),
        ),
    ),
    Section(
        "6. Key assumptions",
        bullets=(
            "Average diesel price of EUR 1.42 per litre.",
            "Personnel costs include the 2026 general salary review agreed with HR and the 24 net new positions.",
            "Customer churn of no more than 3% of 2025 revenue.",
        ),
    ),
    Section(
        "7. Main risks",
        bullets=(
            "A 10% rise in the diesel price would reduce EBITDA by about EUR 0.5 million.",
            "Customer concentration: the largest customer, Frutas Levante Group, represents 11% of budgeted revenue.",
            "A delay of the Zaragoza sorter beyond December 2026 would move about EUR 0.8 "
            "million of revenue into 2027.",
        ),
    ),
)
