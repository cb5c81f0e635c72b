select film_id, title, genre, duration_s, release_year
from {{ source('oltp', 'cinema_films') }}
