"""The built-in 20-product catalog used when the Fake Store API is off or unreachable.

Same ids, categories and price range as the public API (ids 1-4 men's clothing, 5-8 jewelery,
9-14 electronics, 15-20 women's clothing), so runs offline and online produce comparable marts.
"""

from __future__ import annotations

_IMAGE = "https://fakestoreapi.com/img/offline-{id}.jpg"

# (id, title, price, category, rating.rate, rating.count)
_PRODUCTS: tuple[tuple[int, str, float, str, float, int], ...] = (
    (1, "Foldsack No. 1 Backpack, Fits 15 Laptops", 109.95, "men's clothing", 3.9, 120),
    (2, "Mens Casual Premium Slim Fit T-Shirts", 22.3, "men's clothing", 4.1, 259),
    (3, "Mens Cotton Jacket", 55.99, "men's clothing", 4.7, 500),
    (4, "Mens Casual Slim Fit", 15.99, "men's clothing", 2.1, 430),
    (
        5,
        "Women's Legends Naga Gold & Silver Dragon Station Chain Bracelet",
        695.0,
        "jewelery",
        4.6,
        400,
    ),
    (6, "Solid Gold Petite Micropave", 168.0, "jewelery", 3.9, 70),
    (7, "White Gold Plated Princess", 9.99, "jewelery", 3.0, 400),
    (8, "Pierced Owl Rose Gold Plated Stainless Steel Double", 10.99, "jewelery", 1.9, 100),
    (9, "WD 2TB Elements Portable External Hard Drive - USB 3.0", 64.0, "electronics", 3.3, 203),
    (10, "SanDisk SSD PLUS 1TB Internal SSD - SATA III 6 Gb/s", 109.0, "electronics", 2.9, 470),
    (11, "Silicon Power 256GB SSD 3D NAND A55 SLC Cache", 109.0, "electronics", 4.8, 319),
    (
        12,
        "WD 4TB Gaming Drive Works with Playstation 4 Portable External Hard Drive",
        114.0,
        "electronics",
        4.8,
        400,
    ),
    (
        13,
        "Acer SB220Q bi 21.5 inches Full HD (1920 x 1080) IPS Ultra-Thin",
        599.0,
        "electronics",
        2.9,
        250,
    ),
    (14, "Samsung 49-Inch CHG90 144Hz Curved Gaming Monitor", 999.99, "electronics", 2.2, 140),
    (
        15,
        "BIYLACLESEN Women's 3-in-1 Snowboard Jacket Winter Coats",
        56.99,
        "women's clothing",
        2.6,
        235,
    ),
    (
        16,
        "Lock and Love Women's Removable Hooded Faux Leather Moto Biker Jacket",
        29.95,
        "women's clothing",
        2.9,
        340,
    ),
    (
        17,
        "Rain Jacket Women Windbreaker Striped Climbing Raincoats",
        39.99,
        "women's clothing",
        3.8,
        679,
    ),
    (18, "MBJ Women's Solid Short Sleeve Boat Neck V", 9.85, "women's clothing", 4.7, 130),
    (19, "Opna Women's Short Sleeve Moisture", 7.95, "women's clothing", 4.5, 146),
    (20, "DANVOUY Womens T Shirt Casual Cotton Short", 12.99, "women's clothing", 3.6, 145),
)

CATEGORIES = ("men's clothing", "jewelery", "electronics", "women's clothing")


def offline_catalog() -> list[dict]:
    """The catalog in the API's JSON shape, so it goes through the same validation."""
    return [
        {
            "id": product_id,
            "title": title,
            "price": price,
            "description": f"{title}. Offline catalog entry in the {category} category.",
            "category": category,
            "image": _IMAGE.format(id=product_id),
            "rating": {"rate": rate, "count": count},
        }
        for product_id, title, price, category, rate, count in _PRODUCTS
    ]
