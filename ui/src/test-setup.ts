// A loaded 2-core CI machine can take longer than testing-library's 1 s default to render.
import { configure } from '@testing-library/react'

configure({ asyncUtilTimeout: 10_000 })
