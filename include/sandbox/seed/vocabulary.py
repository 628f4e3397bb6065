"""Word pools the seed data is made of: company and person names, streets, and places by country.

Pools are tuples so their order, and therefore the generated data, never depends on set iteration.
Company name words avoid the words of the fixed showcase customers so generated names cannot collide.
"""

from __future__ import annotations

from dataclasses import dataclass


def _pool(text: str) -> tuple[str, ...]:
    """Comma-separated words (a word may contain spaces) as a tuple, in the order written."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


COMPANY_LEADS = _pool(
    """
    Abbott, Acme, Addison, Aldridge, Alder, Ambrose, Anchor, Apex, Arbor, Archer, Ardent, Ashford,
    Aspen, Atwood, Aurora, Avalon, Bainbridge, Baldwin, Barrett, Baxter, Beacon, Bellamy, Benson,
    Birch, Blackwell, Bluestem, Bolton, Bradford, Brennan, Briar, Brightwater, Brookfield, Burke,
    Caldwell, Calloway, Cambria, Canyon, Cardinal, Carlisle, Carver, Cascade, Cedar, Chandler,
    Chapman, Chester, Clarion, Clayton, Clearwater, Cobalt, Colby, Compass, Conley, Copper,
    Cornerstone, Crane, Crestview, Cypress, Dalton, Davenport, Delacroix, Dempsey, Denholm,
    Driftwood, Drummond, Dunmore, Eastgate, Easton, Edgewood, Elkhorn, Ellison, Ember, Evergreen,
    Fairfax, Falcon, Fenwick, Fielding, Finch, Fitzroy, Fletcher, Foxglove, Franklin, Gallagher,
    Garrison, Glacier, Gladstone, Granite, Grayson, Greenleaf, Griffin, Halcyon, Hadley, Halvorsen,
    Hampton, Harbor, Harlow, Harper, Hawthorne, Hayward, Heartland, Hemlock, Highland, Hollis,
    Holloway, Horizon, Hudson, Huxley, Ironwood, Jasper, Jennings, Juniper, Keystone, Kingsley,
    Kinsey, Lancaster, Landry, Langford, Larkspur, Lawson, Lexington, Linden, Lockwood, Lodestar,
    Lyndale, Madison, Magnolia, Mallory, Maple, Marlowe, Maxwell, Meadowbrook, Meridian, Merritt,
    Millbrook, Monarch, Montrose, Morrow, Nash, Newbury, Northgate, Oakhurst, Oberlin, Orchard,
    Osprey, Paragon, Parkhurst, Pemberton, Pennington, Peregrine, Pinecrest, Pioneer, Prescott,
    Quarry, Quinlan, Radcliffe, Rainier, Ramsey, Redwood, Regent, Ridgeway, Riverbend, Rockwell,
    Rosewood, Rowan, Rutherford, Saddleback, Sage, Salem, Sawyer, Sequoia, Shelby, Sheridan,
    Silverline, Sinclair, Slate, Sommerset, Sparrow, Spruce, Stafford, Sterling, Stonebridge, Summit,
    Sutton, Sycamore, Talbot, Tamarack, Thatcher, Thornton, Timberline, Townsend, Trident, Tristan,
    Tucker, Underwood, Upland, Vance, Vantage, Vermillion, Vista, Wakefield, Walden, Warwick,
    Waverly, Wellington, Westbrook, Whitfield, Whitmore, Wilder, Willow, Winslow, Winthrop, Wolcott,
    Woodland, Wrenfield, Yarrow, Yates, Yorkshire, Zenith, Zephyr, Bellweather, Bramble, Castellan,
    Dovetail, Everly, Galloway, Hearthstone, Kestrel, Lakemont, Marigold, Norcross, Oakmont,
    Pembrook, Quillon, Rivington, Stratton
    """
)

COMPANY_TRADES = _pool(
    """
    Accounting, Advertising, Aerospace, Agriculture, Analytics, Appliances, Architecture, Audio,
    Automotive, Aviation, Bakery, Bicycles, Biotech, Bookbinding, Brewing, Builders, Cabinetry,
    Catering, Ceramics, Chemicals, Cleaning, Clinics, Coatings, Coffee, Communications, Composites,
    Construction, Consulting, Controls, Cosmetics, Creamery, Dairy, Data Systems, Dental, Design,
    Diagnostics, Distribution, Dry Goods, Electric, Electronics, Energy, Engineering, Environmental,
    Equipment, Fabrication, Farms, Fasteners, Fitness, Flooring, Foods, Footwear, Forestry, Freight,
    Furnishings, Glassworks, Graphics, Hardware, Health, Hospitality, Imaging, Instruments,
    Insurance, Interiors, Irrigation, Jewelers, Landscaping, Laboratories, Learning, Leather,
    Lighting, Logistics, Lumber, Machining, Marine, Media, Medical, Metalworks, Mills, Mining,
    Motors, Networks, Nurseries, Office Supply, Optics, Outfitters, Packaging, Paints, Paper,
    Pharmacy, Photonics, Plastics, Plumbing, Printing, Publishing, Pumps, Realty, Recycling,
    Robotics, Roofing, Rubber, Safety, Seafood, Security, Semiconductors, Software, Solar, Staffing,
    Stationers, Steel, Storage, Surveying, Telecom, Textiles, Tooling, Toys, Transport, Travel,
    Upholstery, Vending, Veterinary, Winery
    """
)

COMPANY_FORMS: tuple[str, ...] = (
    "Inc.",
    "LLC",
    "Ltd.",
    "Corp.",
    "Group",
    "Partners",
    "Co.",
    "Holdings",
    "Associates",
    "Company",
    "Enterprises",
    "Supply",
    "International",
    "& Sons",
)

# Last words of vendor names: none is (or ends like) a customer form, so no vendor is named like a customer.
VENDOR_FORMS: tuple[str, ...] = (
    "Manufacturing",
    "Wholesale",
    "Distributors",
    "Trading",
    "Importers",
    "Industries",
    "Works",
    "Suppliers",
)

# Added in front of a name only once all plain names of the pools are used (very large seeds).
COMPANY_REGIONS: tuple[str, ...] = (
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Pacific",
    "Atlantic",
    "Central",
    "Coastal",
    "Midland",
)

FIRST_NAMES = _pool(
    """
    Aaron, Abigail, Adrian, Aisha, Alan, Alejandro, Alice, Amara, Amelia, Ana, Andrea, Andrew,
    Angela, Anna, Anthony, Ava, Benjamin, Bianca, Björn, Brandon, Brian, Camila, Carlos, Caroline,
    Catherine, Chen, Chloe, Christopher, Claire, Daniel, David, Diana, Diego, Dmitri, Eleanor, Elena,
    Elijah, Elizabeth, Emily, Emma, Ethan, Fatima, Felipe, Fiona, François, Gabriel, Grace, Hannah,
    Hiroshi, Ian, Ingrid, Isabel, Isaac, Ivan, Jack, James, Jasmine, Jennifer, Jessica, Joanna, John,
    Jonathan, José, Joseph, Julia, Kai, Karen, Katherine, Kenji, Kevin, Laura, Leah, Liam, Lily,
    Linda, Lucas, Lucía, Maria, Mark, Marta, Matthew, Maya, Mei, Michael, Michelle, Miguel, Mohammed,
    Nadia, Naomi, Nathan, Nicole, Noah, Olivia, Omar, Oscar, Patrick, Paul, Priya, Rachel, Rafael,
    Rebecca, Renée, Richard, Robert, Rosa, Ryan, Samuel, Sara, Sean, Sofia, Søren, Stephanie, Steven,
    Susan, Thomas, Tyler, Valentina, Victoria, William, Yuki, Zoë
    """
)

MIDDLE_INITIALS: tuple[str, ...] = ("A.", "B.", "C.", "D.", "E.", "J.", "L.", "M.", "R.", "S.", "T.")

LAST_NAMES = _pool(
    """
    Adams, Ahmed, Allen, Alvarez, Anderson, Bailey, Baker, Bennett, Brooks, Brown, Campbell, Carter,
    Castillo, Chen, Clark, Collins, Cook, Cooper, Cruz, D'Angelo, Davis, Diaz, Edwards, Evans,
    Fischer, Flores, Foster, García, Gonzalez, Gray, Green, Hall, Harris, Hernández, Hill, Howard,
    Hughes, Jackson, James, Jensen, Johnson, Jones, Kelly, Kim, King, Kowalski, Lee, Lewis, Li,
    Lopez, Martin, Martínez, Meyer, Miller, Mitchell, Moore, Morales, Morgan, Morris, Müller, Murphy,
    Nelson, Nguyen, Novak, O'Connor, Ortiz, Parker, Patel, Perez, Peterson, Phillips, Price, Ramirez,
    Reed, Reyes, Richardson, Rivera, Roberts, Robinson, Rodríguez, Rogers, Ross, Russell, Sanchez,
    Sanders, Schmidt, Scott, Shah, Silva, Smith, Stewart, Sullivan, Tanaka, Taylor, Thomas, Thompson,
    Torres, Turner, Walker, Ward, Watson, White, Williams, Wilson, Wong, Wright, Yamamoto, Young,
    Zhang, Østergaard
    """
)

STREET_NAMES: tuple[str, ...] = (
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "River",
    "Church",
    "Market",
    "Mill",
    "Spring",
    "Sunset",
    "Highland",
    "Meadow",
    "Forest",
    "Union",
    "Franklin",
    "Jefferson",
    "Lincoln",
    "Madison",
    "Ridge",
    "Valley",
    "Harbor",
    "Bridge",
    "College",
    "Commerce",
)
STREET_TYPES: tuple[str, ...] = ("Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Way", "Court")
SECOND_LINES: tuple[str, ...] = ("Suite 100", "Suite 210", "Floor 3", "Building B", "Unit 12", "P.O. Box 455")

WEB_TLDS: tuple[str, ...] = ("com", "net", "biz", "co")


@dataclass(frozen=True)
class Place:
    """A city customers can be in, with what its addresses and phone numbers look like."""

    city: str
    county: str  # BC County / Dataverse address1_stateorprovince
    post_code: str  # pattern: '#' is a digit, '@' an upper-case letter
    phone: str  # pattern as above


@dataclass(frozen=True)
class Country:
    code: str  # BC Country/Region Code (ISO 3166 alpha-2)
    currency: str  # "" = the company's local currency (USD)
    places: tuple[Place, ...]


US = Country(
    "US",
    "",
    (
        Place("Atlanta", "GA", "303##", "+1 404 555 ####"),
        Place("Chicago", "IL", "606##", "+1 312 555 ####"),
        Place("Seattle", "WA", "981##", "+1 206 555 ####"),
        Place("Redmond", "WA", "980##", "+1 425 555 ####"),
        Place("Miami", "FL", "331##", "+1 305 555 ####"),
        Place("Dallas", "TX", "752##", "+1 214 555 ####"),
        Place("Denver", "CO", "802##", "+1 303 555 ####"),
        Place("Boston", "MA", "021##", "+1 617 555 ####"),
        Place("New York", "NY", "100##", "+1 212 555 ####"),
        Place("San Francisco", "CA", "941##", "+1 415 555 ####"),
        Place("Phoenix", "AZ", "850##", "+1 602 555 ####"),
        Place("Portland", "OR", "972##", "+1 503 555 ####"),
        Place("Minneapolis", "MN", "554##", "+1 612 555 ####"),
        Place("Nashville", "TN", "372##", "+1 615 555 ####"),
        Place("Salt Lake City", "UT", "841##", "+1 801 555 ####"),
        Place("Coeur d'Alene", "ID", "838##", "+1 208 555 ####"),
    ),
)
CANADA = Country(
    "CA",
    "CAD",
    (
        Place("Toronto", "ON", "M#@ #@#", "+1 416 555 ####"),
        Place("Vancouver", "BC", "V#@ #@#", "+1 604 555 ####"),
        Place("Montréal", "QC", "H#@ #@#", "+1 514 555 ####"),
        Place("Calgary", "AB", "T#@ #@#", "+1 403 555 ####"),
    ),
)
UNITED_KINGDOM = Country(
    "GB",
    "GBP",
    (
        Place("London", "Greater London", "EC#@ #@@", "+44 20 7946 ####"),
        Place("Manchester", "Greater Manchester", "M# #@@", "+44 161 496 ####"),
        Place("Edinburgh", "", "EH# #@@", "+44 131 496 ####"),
    ),
)
GERMANY = Country(
    "DE",
    "EUR",
    (
        Place("München", "Bayern", "80###", "+49 89 ########"),
        Place("Köln", "Nordrhein-Westfalen", "50###", "+49 221 #######"),
        Place("Hamburg", "", "20###", "+49 40 ########"),
    ),
)
FRANCE = Country(
    "FR",
    "EUR",
    (
        Place("Paris", "Île-de-France", "750##", "+33 1 ## ## ## ##"),
        Place("Lyon", "Auvergne-Rhône-Alpes", "690##", "+33 4 ## ## ## ##"),
    ),
)
MEXICO = Country(
    "MX",
    "MXN",
    (
        Place("Ciudad de México", "CDMX", "06###", "+52 55 #### ####"),
        Place("Guadalajara", "Jalisco", "44###", "+52 33 #### ####"),
    ),
)

# Where customers are, weighted: a US company with some foreign-currency customers.
COUNTRY_WEIGHTS: tuple[tuple[Country, int], ...] = (
    (US, 80),
    (CANADA, 7),
    (UNITED_KINGDOM, 5),
    (GERMANY, 3),
    (FRANCE, 3),
    (MEXICO, 2),
)
